package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExamplesReadsTheBlocksTheGeneratorsSee(t *testing.T) {
	doc := Doc("\nProse.\n\n```go\nnot an example\n```\n\n" +
		"{{% examples %}}\n## Example Usage\n\n" +
		"{{% example %}}\n### First\n\n```typescript\nts();\n```\n\n" +
		"```go\none()\n```\n\n```go\ntwo()\n```\n{{% /example %}}\n\n" +
		"{{% example %}}\nNo heading.\n\n```yaml\nname: x\n```\n{{% /example %}}\n" +
		"{{% /examples %}}\n\n" +
		// Outside any examples section, and misspelt: neither is an example to the generators.
		"{{% example %}}\n```python\nstray()\n```\n{{% /example %}}\n\n" +
		"{{% exmaples %}}\n{{% example %}}\n```python\nmisspelt()\n```\n{{% /example %}}\n{{% /exmaples %}}\n\n")
	assert.Equal(t, []Example{
		{Title: "First", Code: map[string]string{"typescript": "ts();\n", "go": "one()\ntwo()\n"}},
		{Title: "", Code: map[string]string{"yaml": "name: x\n"}},
	}, Examples(doc))
	assert.Empty(t, Examples("Prose only.\n\n```sh\npulumi import x y\n```"))
}

func TestDocTrimsTheFilesBlankLines(t *testing.T) {
	assert.Equal(t, "Prose.\n\n## Import", Doc("\nProse.\n\n## Import\n\n"))
}
