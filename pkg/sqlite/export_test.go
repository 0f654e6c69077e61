package sqlite

// MigrationV1 is the first schema, for the migration test.
var MigrationV1 = migrations[0]

// Migrations and SchemaVersion, for the migration tests.
var (
	Migrations    = migrations
	SchemaVersion = len(migrations)
)
