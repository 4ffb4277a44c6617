//go:build windows

package testchild

import "fmt"

// treeRoles are the grandchildren ModeTree starts, besides the child. On
// Windows a process cannot leave its job by itself; the "detached" role
// stands in for setsid and is started by the tree child as usual.
var treeRoles = []string{"grandchild", "detached"}

func escape(how string) error {
	if how != "detached" {
		return fmt.Errorf("unknown escape %q", how)
	}
	return nil
}
