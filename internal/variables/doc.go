// Package variables resolves a deployment's variable set from scoped candidates and substitutes #{...} expressions in scripts and files.
//
// # Resolution
//
// Resolve picks one value per variable name from a list of scoped candidates:
// the candidate whose scope matches the deployment in the most dimensions
// (environment, tenant) wins, and ties go to the candidate listed first.
// Names are case-insensitive.
//
// # Substitution
//
// Render evaluates the #{...} language of Octopus as Octostache, Octopus's
// templating library, does: names with indexes (Octopus.Action[Step A].Name),
// values that contain expressions, JSON values, #{if}/#{elseif}/#{else}/
// #{unless}, #{each}, #{calc} and Octostache's filters. docs/variables.md
// describes the language; the tests pin Octostache's behaviour case by case.
//
// The pieces: parse.go turns text into tokens with Octostache's grammar
// (including how it recovers from malformed text); binding.go builds the
// tree of names a Set describes; eval.go evaluates tokens against it;
// json.go, filters.go, numbers.go, dates.go, uri.go and version.go are the
// value readers and filters. mask.go hides sensitive values in logs.
//
// Render is Strict (every problem is an error: scripts) or Lenient (left as
// it is, as Octostache leaves it, and reported as a warning: package files).
// Every evaluated value carries whether it derives from a sensitive value;
// Result.Derived lists those that reached the output, for Masker.With.
// Evaluation is bounded (output size, steps, nesting, time in regular
// expressions); exceeding a bound is an error wrapping ErrLimit.
package variables
