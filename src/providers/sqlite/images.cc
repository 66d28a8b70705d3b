#include <optional>
#include <string>
#include <vector>

#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kImageColumns =
    "image_id, image, is_default, cpu, memory, runtime_platform, image_registry, image_name, "
    "image_tag, image_digest, normalized, task_role_name, task_execution_role_name, created_by, "
    "created_at, created_by_request_id, modified_by_request_id";

core::Image ImageFromRow(const Statement& stmt) {
  core::Image image;
  image.image_id = stmt.Text(0);
  image.image = stmt.Text(1);
  image.is_default = stmt.Int(2) != 0;
  image.cpu = static_cast<int>(stmt.Int(3));
  image.memory = static_cast<int>(stmt.Int(4));
  image.runtime_platform = stmt.Text(5);
  image.image_registry = stmt.Text(6);
  image.image_name = stmt.Text(7);
  image.image_tag = stmt.Text(8);
  image.image_digest = stmt.Text(9);
  image.normalized = stmt.Text(10);
  image.task_role_name = stmt.Text(11);
  image.task_execution_role_name = stmt.Text(12);
  image.created_by = stmt.Text(13);
  image.created_at = Time(stmt.Int(14));
  image.created_by_request_id = stmt.Text(15);
  image.modified_by_request_id = stmt.Text(16);
  return image;
}

Result<std::optional<core::Image>> SelectImage(Connection& c, const std::string& image_id) {
  std::optional<core::Image> image;
  {
    RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kImageColumns +
                                         " FROM images WHERE image_id = ?"));
    RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, image_id).Step());
    if (!row) {
      return image;
    }
    image = ImageFromRow(*stmt);
  }
  RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedImage, image_id));
  image->owned_by = std::move(owners);
  return image;
}

Result<void> MakeOnlyDefault(Connection& c, const std::string& image_id) {
  // Clear first: a partial unique index allows a single row with is_default = 1.
  RUNVOY_SQLITE_ASSIGN(
      clear, c.Prepare("UPDATE images SET is_default = 0 WHERE is_default = 1 AND image_id <> ?"));
  RUNVOY_SQLITE_CHECK(clear->Bind(1, image_id).Run());
  RUNVOY_SQLITE_ASSIGN(set, c.Prepare("UPDATE images SET is_default = 1 WHERE image_id = ?"));
  RUNVOY_SQLITE_CHECK(set->Bind(1, image_id).Run());
  return {};
}

Result<bool> IsEmpty(Connection& c) {
  RUNVOY_SQLITE_ASSIGN(any, c.Prepare("SELECT 1 FROM images LIMIT 1"));
  RUNVOY_SQLITE_ASSIGN(has_images, any->Step());
  return !has_images;
}

// Inserts `image` as not default, with its owners.
Result<void> InsertImage(Connection& c, const core::Image& image) {
  RUNVOY_SQLITE_ASSIGN(insert,
                       c.Prepare(std::string("INSERT INTO images (") + kImageColumns +
                                 ") VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  RUNVOY_SQLITE_CHECK(insert->Bind(1, image.image_id)
                          .Bind(2, image.image)
                          .Bind(3, int64_t{image.cpu})
                          .Bind(4, int64_t{image.memory})
                          .Bind(5, image.runtime_platform)
                          .Bind(6, image.image_registry)
                          .Bind(7, image.image_name)
                          .Bind(8, image.image_tag)
                          .Bind(9, image.image_digest)
                          .Bind(10, image.normalized)
                          .Bind(11, image.task_role_name)
                          .Bind(12, image.task_execution_role_name)
                          .Bind(13, image.created_by)
                          .Bind(14, Millis(image.created_at))
                          .Bind(15, image.created_by_request_id)
                          .Bind(16, image.modified_by_request_id)
                          .Run());
  return WriteOwners(c, kOwnedImage, image.image_id, image.owned_by);
}

// See ImageRepository::Put.
Result<core::Image> PutImage(Connection& c, const core::Image& image, bool make_default) {
  RUNVOY_SQLITE_ASSIGN(existing, SelectImage(c, image.image_id));
  bool becomes_default = make_default;
  if (!existing) {
    RUNVOY_SQLITE_ASSIGN(was_empty, IsEmpty(c));
    RUNVOY_SQLITE_CHECK(InsertImage(c, image));
    becomes_default = becomes_default || was_empty;
  }
  if (becomes_default) {
    RUNVOY_SQLITE_CHECK(MakeOnlyDefault(c, image.image_id));
  }
  RUNVOY_SQLITE_ASSIGN(stored, SelectImage(c, image.image_id));
  if (!stored) {
    return Fail(ErrorCode::kDatabase, "database error", "image vanished");
  }
  return *stored;
}

class SqliteImageRepository final : public contract::ImageRepository {
 public:
  explicit SqliteImageRepository(Database& db) : db_(db) {}

  // `image.is_default` is ignored: being the default follows only from `make_default` and
  // from being the first image.
  Result<core::Image> Put(const core::Image& image, bool make_default) override {
    return db_.Transact<core::Image>(
        [&](Connection& c) { return PutImage(c, image, make_default); });
  }

  Result<std::optional<core::Image>> Get(const std::string& image_id) override {
    return db_.Read<std::optional<core::Image>>(
        [&](Connection& c) { return SelectImage(c, image_id); });
  }

  Result<std::vector<core::Image>> List() override {
    return db_.Read<std::vector<core::Image>>(
        [&](Connection& c) -> Result<std::vector<core::Image>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kImageColumns +
                                               " FROM images ORDER BY image, image_id"));
          std::vector<core::Image> images;
          for (;;) {
            RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
            if (!row) {
              break;
            }
            images.push_back(ImageFromRow(*stmt));
            RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedImage, images.back().image_id));
            images.back().owned_by = std::move(owners);
          }
          return images;
        });
  }

  Result<core::Image> Remove(const std::string& image_id) override {
    return db_.Transact<core::Image>([&](Connection& c) -> Result<core::Image> {
      RUNVOY_SQLITE_ASSIGN(existing, SelectImage(c, image_id));
      if (!existing) {
        return Fail(ErrorCode::kNotFound, "image not found");
      }
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("DELETE FROM images WHERE image_id = ?"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, image_id).Run());
      RUNVOY_SQLITE_CHECK(DeleteOwners(c, kOwnedImage, image_id));
      return *existing;
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::ImageRepository> MakeImageRepository(Database& db) {
  return std::make_unique<SqliteImageRepository>(db);
}

}  // namespace runvoy::providers::sqlite
