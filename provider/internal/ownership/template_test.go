package ownership

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTemplateNamesAndScopes(t *testing.T) {
	assert.Equal(t, "PROD_DB", NameFor("PROD_{{key}}", "DB"))
	assert.Equal(t, "DB", NameFor("", "DB"))
	key, ok := KeyFor("PROD_{{key}}_V1", "PROD_DB_V1")
	assert.True(t, ok)
	assert.Equal(t, "DB", key)
	_, ok = KeyFor("PROD_{{key}}", "PROD_")
	assert.False(t, ok, "an empty key is no key")
	assert.False(t, ValidTemplate("PROD_"))
	assert.False(t, ValidTemplate("{{key}}{{key}}"))

	scope, ok := TemplateScope("PROD_{{key}}")
	assert.True(t, ok)
	assert.Equal(t, "PROD_*", scope.Describe)
	assert.True(t, scope.Match("PROD_X"))
	assert.False(t, scope.Match("STAGING_X"))
	_, ok = TemplateScope("{{key}}")
	assert.False(t, ok, "a template without fixed parts is every name: only an explicit pattern says that")

	all := PatternScope("*", "the whole script")
	assert.Equal(t, "* (the whole script)", all.Describe)
	assert.True(t, all.Match("ANY"))
	mid := PatternScope("A*_B", "the whole app")
	assert.True(t, mid.Match("AX_B"))
	assert.False(t, mid.Match("AX_BC"))

	_, on := PruneScopeOf(false, "*", "", "the whole app")
	assert.False(t, on)
	explicit, on := PruneScopeOf(true, "X_*", "PROD_{{key}}", "the whole app")
	assert.True(t, on)
	assert.Equal(t, "X_*", explicit.Describe, "the explicit pattern wins over the template's")
}
