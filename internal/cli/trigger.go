package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) triggerCommand() *cobra.Command {
	list := show(a, &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's triggers, when each is next due and what it did last",
		Long: `List a project's triggers (declared under triggers: with 'ferry apply', also on
remote projects imported from another space): a schedule trigger deploys, at the
times its cron names, the latest release that succeeded in its source
environment; an on-arrival trigger deploys each release of a remote project as
it arrives. LAST says what the trigger did when it last fired — the version it
deployed and the task, or why it could not — so a failing trigger is visible.`,
		Example: `  ferry trigger list Shop
  ferry trigger list "DevTest Space: Shop" -o json`,
		Args: cobra.ExactArgs(1),
	}, func(x call) ([]api.TriggerStatus, error) { return x.ListTriggers(x, x.space, x.args[0]) },
		rows("NAME\tTYPE\tDEPLOYS\tNEXT\tLAST", func(t api.TriggerStatus) []string {
			return []string{t.Name, t.Type, triggerDeploys(t.Trigger), triggerNext(t.NextDue), triggerLast(t)}
		}))
	return group("trigger", "Show triggers (declare them with 'ferry apply')", list)
}

func triggerDeploys(t api.Trigger) string {
	if t.Type == "schedule" {
		tz := t.Timezone
		if tz == "" {
			tz = "UTC"
		}
		return fmt.Sprintf("latest of %s to %s at %q %s", t.SourceEnvironment, t.Environment, t.Cron, tz)
	}
	return "each arriving release to " + t.Environment
}

func triggerNext(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func triggerLast(t api.TriggerStatus) string {
	l := t.Last
	if l == nil {
		return "never fired"
	}
	s := l.At.Local().Format("2006-01-02 15:04:05") + " "
	if !l.OK {
		if l.Version != "" {
			s += l.Version + " "
		}
		return s + l.Result
	}
	s += fmt.Sprintf("%s to %s, task %d", l.Version, t.Environment, l.TaskID)
	if t.TaskState != "" {
		s += " (" + string(t.TaskState) + ")"
	}
	return s
}
