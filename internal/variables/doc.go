// Package variables resolves a deployment's variable set from scoped candidates and substitutes #{...} expressions in scripts and files.
//
// # Resolution
//
// Resolve picks one value per variable name from a list of scoped candidates:
// the candidate whose scope matches the deployment in the most dimensions
// (environment, tenant) wins, and ties go to the candidate listed first.
// Names are case-sensitive.
//
// # Template language
//
// Substitute understands an Octopus-compatible subset:
//
//	#{Name}                          value of Name (undefined → *UndefinedError)
//	#{Name | ToUpper | Trim}         filters, applied left to right
//	#{Name | Replace "a" "b"}        filters with arguments ("..." or bare words)
//	#{if Name}…#{else}…#{/if}        true unless undefined or "", "0", "false", "False", "FALSE", "no"
//	#{if Name == "v"}…#{/if}         also !=; an undefined Name equals nothing
//	#{unless Name}…#{/unless}        the negation of if (may also have #{else})
//	#{each x in List}…#{/each}       List split on commas; sets x and Ferry.Template.Each.*
//	#{Url[#{Env}]}                   inner expressions are expanded before the lookup
//	##{Name}                         the literal text #{Name}
//
// Values may reference other variables; they are expanded recursively (each
// in the global scope, so loop variables are not visible inside them) with
// cycle detection. Filters: ToUpper, ToLower, Trim, HtmlEscape, XmlEscape,
// JsonEscape (no surrounding quotes), UriEscape (url.QueryEscape, so a space
// becomes "+"), Base64Encode, Base64Decode, Replace OLD NEW (literal, not a
// regular expression), Truncate N (N characters, then "..." when shortened,
// as Octopus does), Substring START [LENGTH] (in characters). Filter names are
// matched case-insensitively. Inside "..." arguments only \" and \\ are escapes.
//
// The whole text is parsed before anything is evaluated, so malformed
// templates fail with a *SyntaxError carrying a 1-based line and column
// (counted in characters). Expansion is bounded (output size, nesting depth,
// evaluation steps) and exceeding a bound fails with an error wrapping ErrLimit.
package variables
