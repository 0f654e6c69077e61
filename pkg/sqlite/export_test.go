package sqlite

// MigrationV1 is the first schema, for the migration test.
var MigrationV1 = migrations[0]

// Migrations and SchemaVersion, for the migration tests.
var (
	Migrations    = migrations
	SchemaVersion = len(migrations)
)

// Exec runs a statement on the store's database, for tests that set
// pragmas such as max_page_count.
func (s *Store) Exec(query string) error {
	_, err := s.db.Exec(query)
	return err
}
