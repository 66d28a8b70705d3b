#include "providers/builtin.h"

#include "providers/vault_local/local_vault.h"
#if RUNVOY_WITH_SQLITE
#include "providers/sqlite/sqlite_store.h"
#endif
#if RUNVOY_WITH_POSTGRES
#include "providers/postgres/postgres_store.h"
#endif
#if RUNVOY_WITH_LOCAL
#include "providers/local/local_provider.h"
#endif
#if RUNVOY_WITH_DOCKER
#include "providers/docker/docker_provider.h"
#endif

namespace runvoy::providers {

// The one explicit list: adding a platform adds one line here (and its CMake option).
void RegisterBuiltins(contract::Registry& registry) {
  vault_local::Register(registry);
#if RUNVOY_WITH_SQLITE
  sqlite::Register(registry);
#endif
#if RUNVOY_WITH_POSTGRES
  postgres::Register(registry);
#endif
#if RUNVOY_WITH_LOCAL
  local::Register(registry);
#endif
#if RUNVOY_WITH_DOCKER
  docker::Register(registry);
#endif
}

}  // namespace runvoy::providers
