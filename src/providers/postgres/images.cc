#include <optional>
#include <string>
#include <vector>

#include "providers/postgres/repositories.h"

namespace runvoy::providers::postgres {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kImageColumns =
    "image_id, image, is_default, cpu, memory, runtime_platform, image_registry, image_name, "
    "image_tag, image_digest, normalized, task_role_name, task_execution_role_name, created_by, "
    "created_at, created_by_request_id, modified_by_request_id, owned_by";

core::Image ImageFromRow(const Rows& rows, int r) {
  core::Image image;
  image.image_id = rows.Text(r, 0);
  image.image = rows.Text(r, 1);
  image.is_default = rows.Bool(r, 2);
  image.cpu = static_cast<int>(rows.Int(r, 3));
  image.memory = static_cast<int>(rows.Int(r, 4));
  image.runtime_platform = rows.Text(r, 5);
  image.image_registry = rows.Text(r, 6);
  image.image_name = rows.Text(r, 7);
  image.image_tag = rows.Text(r, 8);
  image.image_digest = rows.Text(r, 9);
  image.normalized = rows.Text(r, 10);
  image.task_role_name = rows.Text(r, 11);
  image.task_execution_role_name = rows.Text(r, 12);
  image.created_by = rows.Text(r, 13);
  image.created_at = Time(rows.Int(r, 14));
  image.created_by_request_id = rows.Text(r, 15);
  image.modified_by_request_id = rows.Text(r, 16);
  image.owned_by = rows.TextArray(r, 17);
  return image;
}

Result<std::optional<core::Image>> SelectImage(Connection& c, const std::string& image_id) {
  RUNVOY_PG_ASSIGN(
      rows, c.Query(std::string("SELECT ") + kImageColumns + " FROM images WHERE image_id = $1",
                    Params().Add(image_id)));
  if (rows.Empty()) {
    return std::optional<core::Image>();
  }
  return std::optional<core::Image>(ImageFromRow(rows, 0));
}

Result<void> MakeOnlyDefault(Connection& c, const std::string& image_id) {
  // Clear first: the partial unique index allows a single row with is_default.
  RUNVOY_PG_CHECK(
      c.Query("UPDATE images SET is_default = FALSE WHERE is_default AND image_id <> $1",
              Params().Add(image_id)));
  RUNVOY_PG_CHECK(
      c.Query("UPDATE images SET is_default = TRUE WHERE image_id = $1", Params().Add(image_id)));
  return {};
}

// See ImageRepository::Put. Runs in a SERIALIZABLE transaction.
Result<core::Image> PutImage(Connection& c, const core::Image& image, bool make_default) {
  RUNVOY_PG_ASSIGN(existing, SelectImage(c, image.image_id));
  bool becomes_default = make_default;
  if (!existing) {
    RUNVOY_PG_ASSIGN(any, c.Query("SELECT 1 FROM images LIMIT 1"));
    becomes_default = becomes_default || any.Empty();
    RUNVOY_PG_CHECK(c.Query(
        std::string("INSERT INTO images (") + kImageColumns +
            ") VALUES ($1, $2, FALSE, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
            "$16, $17::text[])",
        Params()
            .Add(image.image_id)
            .Add(image.image)
            .Add(int64_t{image.cpu})
            .Add(int64_t{image.memory})
            .Add(image.runtime_platform)
            .Add(image.image_registry)
            .Add(image.image_name)
            .Add(image.image_tag)
            .Add(image.image_digest)
            .Add(image.normalized)
            .Add(image.task_role_name)
            .Add(image.task_execution_role_name)
            .Add(image.created_by)
            .Add(Millis(image.created_at))
            .Add(image.created_by_request_id)
            .Add(image.modified_by_request_id)
            .AddTextArray(image.owned_by)));
  }
  if (becomes_default) {
    RUNVOY_PG_CHECK(MakeOnlyDefault(c, image.image_id));
  }
  RUNVOY_PG_ASSIGN(stored, SelectImage(c, image.image_id));
  if (!stored) {
    return Fail(ErrorCode::kDatabase, "database error", "image vanished");
  }
  return *stored;
}

class PostgresImageRepository final : public contract::ImageRepository {
 public:
  explicit PostgresImageRepository(Pool& pool) : pool_(pool) {}

  // `image.is_default` is ignored: being the default follows only from `make_default` and
  // from being the first image.
  Result<core::Image> Put(const core::Image& image, bool make_default) override {
    return pool_.Transact<core::Image>(
        [&](Connection& c) { return PutImage(c, image, make_default); });
  }

  Result<std::optional<core::Image>> Get(const std::string& image_id) override {
    return pool_.Run<std::optional<core::Image>>(
        [&](Connection& c) { return SelectImage(c, image_id); }, /*is_read=*/true);
  }

  Result<std::vector<core::Image>> List() override {
    return pool_.Run<std::vector<core::Image>>(
        [&](Connection& c) -> Result<std::vector<core::Image>> {
          RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kImageColumns +
                                         " FROM images ORDER BY image, image_id"));
          std::vector<core::Image> images;
          images.reserve(static_cast<std::size_t>(rows.Count()));
          for (int r = 0; r < rows.Count(); ++r) {
            images.push_back(ImageFromRow(rows, r));
          }
          return images;
        },
        true);
  }

  Result<core::Image> Remove(const std::string& image_id) override {
    return pool_.Run<core::Image>([&](Connection& c) -> Result<core::Image> {
      RUNVOY_PG_ASSIGN(rows, c.Query(std::string("DELETE FROM images WHERE image_id = $1 "
                                                 "RETURNING ") +
                                         kImageColumns,
                                     Params().Add(image_id)));
      if (rows.Empty()) {
        return Fail(ErrorCode::kNotFound, "image not found");
      }
      return ImageFromRow(rows, 0);
    });
  }

 private:
  Pool& pool_;
};

}  // namespace

std::unique_ptr<contract::ImageRepository> MakeImageRepository(Pool& pool) {
  return std::make_unique<PostgresImageRepository>(pool);
}

}  // namespace runvoy::providers::postgres
