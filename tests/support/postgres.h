#pragma once

// PostgreSQL for the tests. The ctest fixture "postgres" (tests/support/CMakeLists.txt) starts
// one throwaway cluster per test run with tests/support/postgres_cluster.sh and writes its DSN
// to <build>/postgres/dsn; a test that needs PostgreSQL declares `FIXTURES postgres` in
// runvoy_test() and takes a fresh database of its own from FreshPostgresDatabase(), so tests
// running in parallel never meet. Several servers of one end-to-end test share a database by
// being given the same DSN.

#include <string>

namespace runvoy::testing {

// The DSN of the fixture's cluster (a superuser-free role with CREATEDB): $RUNVOY_TEST_POSTGRES_DSN
// when set, else the first line of <build>/postgres/dsn; empty when there is neither.
std::string PostgresClusterDsn();

// Creates a new, empty database in that cluster and returns its DSN (key=value form). It is
// dropped when the process exits. Records a test failure and returns "" when there is no
// cluster or it cannot be reached.
std::string FreshPostgresDatabase();

// The DSN `dsn` with its database replaced by `dbname` (key=value form). "" when `dsn` is not a
// valid connection string.
std::string WithDatabase(const std::string& dsn, const std::string& dbname);

// A private throwaway cluster (postgres_cluster.sh start) for a test that stops or restarts the
// server, which the shared fixture cluster must never see. Stopped and removed by its destructor.
class PostgresCluster {
 public:
  PostgresCluster();  // records a test failure (and Dsn() is "") when it cannot start
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;
  PostgresCluster(PostgresCluster&&) = delete;
  PostgresCluster& operator=(PostgresCluster&&) = delete;

  // The DSN of its database "runvoy".
  const std::string& Dsn() const { return dsn_; }
  // Each runs postgres_cluster.sh and answers whether it succeeded.
  bool StopServer();
  bool StartServer();
  bool Restart();

 private:
  bool Run(const std::string& command);

  std::string state_dir_;
  std::string dsn_;
};

}  // namespace runvoy::testing
