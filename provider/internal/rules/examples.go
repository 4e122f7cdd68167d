package rules

import (
	"strings"

	"github.com/pgavlin/goldmark/ast"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// ExampleLanguages are the fence languages every resource's and function's examples are written
// in: the TypeScript, Python and Go SDK generators each keep their own language's blocks in the
// doc comments they write (codegen.FilterExamples), and the Registry shows all four.
var ExampleLanguages = []string{"typescript", "python", "go", "yaml"}

// Doc turns a resource's or function's embedded markdown file (its whole schema description:
// prose, an `{{% examples %}}` section and, for resources, an Import section) into the
// description given to Describe. It only trims the file's surrounding blank lines, so that the
// file can end in a newline as editors want without every SDK comment ending in an empty line.
func Doc(markdown string) string {
	return strings.TrimSpace(markdown)
}

// Example is one `{{% example %}}` block of a description.
type Example struct {
	// Title is the text of the block's first heading ("" when it has none).
	Title string
	// Code is the block's code by fence language ("typescript", "python", "go", "yaml", ...);
	// when a language has several fences, their code is joined.
	Code map[string]string
}

// Examples returns the `{{% example %}}` blocks inside the `{{% examples %}}` sections of a
// description. It reads the description with the parser the SDK generators use
// (codegen/schema.ParseDocs), so a block they would not recognise (a misspelt shortcode, an
// unclosed fence) is not counted either.
func Examples(description string) []Example {
	source := []byte(description)
	var examples []Example
	current := -1 // index of the example being read
	depth := 0    // how many `{{% examples %}}` sections enclose the node
	_ = ast.Walk(schema.ParseDocs(source), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *schema.Shortcode:
			switch string(n.Name) {
			case schema.ExamplesShortcode:
				if entering {
					depth++
				} else {
					depth--
				}
			case schema.ExampleShortcode:
				if depth == 0 {
					return ast.WalkSkipChildren, nil
				}
				if entering {
					examples = append(examples, Example{Code: map[string]string{}})
					current = len(examples) - 1
				} else {
					current = -1
				}
			}
		case *ast.Heading:
			if entering && current >= 0 && examples[current].Title == "" {
				examples[current].Title = string(n.Text(source))
			}
		case *ast.FencedCodeBlock:
			if entering && current >= 0 {
				lang := string(n.Language(source))
				var code strings.Builder
				code.WriteString(examples[current].Code[lang])
				for i := 0; i < n.Lines().Len(); i++ {
					line := n.Lines().At(i)
					code.Write(line.Value(source))
				}
				examples[current].Code[lang] = code.String()
			}
		}
		return ast.WalkContinue, nil
	})
	return examples
}
