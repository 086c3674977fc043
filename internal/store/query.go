package store

import "strings"

// cond is one optional condition of a query's WHERE clause.
type cond struct {
	set  bool
	sql  string
	args []any
}

// when is the condition sql with its arguments, used only when set: a
// filter's zero fields select everything.
func when(set bool, sql string, args ...any) cond { return cond{set, sql, args} }

// where joins the conditions that are set into a WHERE clause ("" when
// none is) and their arguments, in order.
func where(conds ...cond) (string, []any) {
	var sqls []string
	var args []any
	for _, c := range conds {
		if c.set {
			sqls = append(sqls, c.sql)
			args = append(args, c.args...)
		}
	}
	if len(sqls) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(sqls, " AND "), args
}
