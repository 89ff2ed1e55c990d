package buildspec

import (
	"path"
	"strings"
)

// matchSegment matches one path segment against one pattern segment (path.Match syntax).
func matchSegment(pattern, name string) (bool, error) {
	return path.Match(pattern, name)
}

// Match reports whether the slash-separated relative path name matches pattern, where a
// segment "**" matches zero or more segments and other segments follow path.Match.
func Match(pattern, name string) bool {
	return matchParts(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchParts(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := matchSegment(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
