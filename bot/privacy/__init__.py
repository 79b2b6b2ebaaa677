"""Members' data: the export (/imiei_dati), forgetting (/dimenticami), and one member for
one person's accounts on several platforms (/collega, /scollega). `commands.register` adds
them; `tables.MEMBER_COLUMNS` is the list of what points at a member that they all walk."""
