package variables

import (
	"fmt"
	"strings"
	"testing"
)

func largeText() string {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		switch {
		case i%500 == 499:
			b.WriteString("#{each server in Servers}\nupstream_#{Ferry.Template.Each.Index} = \"#{server}:#{Port}\"\n#{/each}\n")
		case i%100 == 99:
			fmt.Fprintf(&b, "#{if Feature.Enabled}\nfeature_%d = on\n#{else}\nfeature_%d = off\n#{/if}\n", i, i)
		default:
			fmt.Fprintf(&b, "setting_%06d = \"#{App.Setting.%d}\" # %s\n", i, i%100, strings.Repeat("-", 60))
		}
	}
	return b.String()
}

func BenchmarkParseOnly(b *testing.B) {
	text := largeText()
	for b.Loop() {
		parseStrict(text)
	}
}
