"""Spreadsheet import: the sheets offices already keep, checked row by row, then saved at once.

`reading` turns an upload into rows (refusing what is not a safe spreadsheet), `values` reads
what people type into cells, `lookups` finds communes and organisations by name or code, `kinds`
describes the columns of each kind of record, and `engine` runs the dry run and the commit.
"""
