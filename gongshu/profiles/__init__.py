"""Entity profiles (一人一档 / 一企一档): all records about one ID number or credit code across
the entries the reader may read, through the gate."""
