package deploy

import (
	"fmt"

	"github.com/ferrydeploy/ferry/internal/variables"
)

// substitute renders text (what names it in messages: "script", a file)
// and, before anything can print it, adds every value it derived from a
// sensitive one to the task log's masker. Scripts are rendered strictly;
// package files leniently, each place left as is logged as a warning.
func substitute(text string, vars *variables.Set, mode variables.Mode, what string, tl *taskLog) (string, error) {
	res, err := variables.Render(text, vars, mode)
	if err != nil {
		return "", err
	}
	tl.addSecrets(res.Derived)
	for _, w := range res.Warnings {
		tl.info(fmt.Sprintf("Warning: %s %v", what, w))
	}
	if res.Null {
		tl.info(fmt.Sprintf("Warning: %s uses the null filter, which makes the whole text empty", what))
	}
	return res.Text, nil
}
