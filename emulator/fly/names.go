package fly

import (
	"fmt"
	"regexp"
)

// Secret names become environment variables.
var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Fly app names: lowercase letters, digits and dashes, starting with a letter
// or digit.
var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func validSecretName(name string) bool { return secretNameRE.MatchString(name) }

func validAppName(name string) bool { return appNameRE.MatchString(name) }

// invalidNameMessage is Fly's wording for a rejected secret name.
func invalidNameMessage(name string) string {
	return fmt.Sprintf("%q is not a valid secret name", name)
}
