package sqlite

// MigrationV1 is the first schema, for the migration test.
var MigrationV1 = migrations[0]

// SchemaVersion is the schema version this program writes.
var SchemaVersion = len(migrations)
