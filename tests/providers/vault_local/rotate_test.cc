// Vault "local": master keys, and rotate-key interrupted at every write (SPEC.md §2.6, §3).

#include "providers/vault_local/rotate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "contract/registry.h"
#include "providers/sqlite/sqlite_store.h"
#include "providers/vault_local/local_vault.h"

namespace runvoy::providers::vault_local {
namespace {

const std::map<std::string, std::string> kValues = {
    {"alpha", "value-alpha-1"},    {"beta", "value-beta-22"},   {"db.password", "hunter2-hunter2"},
    {"gamma-key", "gamma-333333"}, {"z_last", "zzzz-last-one"},
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string RawKeyIn(const std::string& path) {
  std::string text = ReadText(path);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  auto raw = common::Base64Decode(text);
  return raw ? *raw : std::string();
}

// Stands in for the real store, failing every write from the `fail_at`-th one on (counting
// blob and setting writes from 0) as if the process had died there.
class FailingStore final : public contract::Store {
 public:
  FailingStore(contract::Store& inner, int fail_at)
      : inner_(inner), blobs_(*this), settings_(*this), fail_at_(fail_at) {}

  std::string Name() const override { return inner_.Name(); }
  bool IsShared() const override { return inner_.IsShared(); }
  core::Result<void> Ping() override { return inner_.Ping(); }
  contract::UserRepository& Users() override { return inner_.Users(); }
  contract::ImageRepository& Images() override { return inner_.Images(); }
  contract::ExecutionRepository& Executions() override { return inner_.Executions(); }
  contract::LogRepository& Logs() override { return inner_.Logs(); }
  contract::WebSocketTokenRepository& WebSocketTokens() override {
    return inner_.WebSocketTokens();
  }
  contract::AuditRepository& Audit() override { return inner_.Audit(); }
  contract::IdempotencyRepository& Idempotency() override { return inner_.Idempotency(); }
  contract::SecretRepository& Secrets() override { return inner_.Secrets(); }
  contract::BlobRepository& Blobs() override { return blobs_; }
  contract::SettingRepository& Settings() override { return settings_; }
  contract::Notifier& Notices() override { return inner_.Notices(); }

  int writes() const { return writes_; }

 private:
  core::Result<void> Write() {
    if (writes_++ >= fail_at_) {
      return core::Fail(core::ErrorCode::kDatabase, "injected failure");
    }
    return {};
  }

  class BlobsProxy final : public contract::BlobRepository {
   public:
    explicit BlobsProxy(FailingStore& store) : store_(store) {}
    core::Result<void> Put(const std::string& name, const std::string& value) override {
      if (auto ok = store_.Write(); !ok) return ok;
      return store_.inner_.Blobs().Put(name, value);
    }
    core::Result<std::optional<std::string>> Get(const std::string& name) override {
      return store_.inner_.Blobs().Get(name);
    }
    core::Result<void> Remove(const std::string& name) override {
      if (auto ok = store_.Write(); !ok) return ok;
      return store_.inner_.Blobs().Remove(name);
    }
    core::Result<std::vector<std::string>> Names() override {
      return store_.inner_.Blobs().Names();
    }

   private:
    FailingStore& store_;
  };

  class SettingsProxy final : public contract::SettingRepository {
   public:
    explicit SettingsProxy(FailingStore& store) : store_(store) {}
    core::Result<std::optional<std::string>> Get(const std::string& key) override {
      return store_.inner_.Settings().Get(key);
    }
    core::Result<void> Put(const std::string& key, const std::string& value) override {
      if (auto ok = store_.Write(); !ok) return ok;
      return store_.inner_.Settings().Put(key, value);
    }

   private:
    FailingStore& store_;
  };

  contract::Store& inner_;
  BlobsProxy blobs_;
  SettingsProxy settings_;
  int fail_at_;
  int writes_ = 0;
};

class RotateKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/runvoy-vault-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto store = sqlite::OpenSqliteStore(dir_ + "/runvoy.db");
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    Register(registry_);
    context_.data_dir = dir_;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string KeyFile() const { return dir_ + "/master.key"; }

  core::Result<std::unique_ptr<contract::SecretVault>> Vault(const std::string& key_base64 = {}) {
    contract::ProviderContext context = context_;
    if (!key_base64.empty()) context.section["master_key"] = key_base64;
    return registry_.MakeVault("local", context, *store_);
  }

  // Stores every value of kValues through a vault on the key file (created here).
  void PutValues() {
    auto vault = Vault();
    ASSERT_TRUE(vault.has_value()) << vault.error().message;
    for (const auto& [name, value] : kValues)
      ASSERT_TRUE((*vault)->Put(name, value).has_value());
  }

  // Every value of kValues reads back through a fresh vault on `key_base64` (or the key file).
  void ExpectValuesReadable(const std::string& key_base64 = {}) {
    auto vault = Vault(key_base64);
    ASSERT_TRUE(vault.has_value()) << vault.error().message;
    for (const auto& [name, value] : kValues) {
      auto read = (*vault)->Get(name);
      ASSERT_TRUE(read.has_value()) << name << ": " << read.error().message;
      ASSERT_TRUE(read->has_value()) << name;
      EXPECT_EQ(**read, value) << name;
    }
  }

  std::string dir_;
  std::unique_ptr<contract::Store> store_;
  contract::Registry registry_;
  contract::ProviderContext context_;
};

TEST_F(RotateKeyTest, FirstStartCreatesAKeyFileReadableOnlyByTheOwner) {
  PutValues();
  struct stat info {};
  ASSERT_EQ(stat(KeyFile().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(RawKeyIn(KeyFile()).size(), 32u);
}

TEST_F(RotateKeyTest, RotationReencryptsEveryValueUnderANewKeyFile) {
  PutValues();
  const std::string old_key = RawKeyIn(KeyFile());
  auto report = RotateMasterKey(context_, *store_, "");
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->reencrypted, static_cast<int>(kValues.size()));
  EXPECT_EQ(report->already_rotated, 0);
  EXPECT_EQ(report->key_file, KeyFile());

  const std::string new_key = RawKeyIn(KeyFile());
  EXPECT_EQ(new_key.size(), 32u);
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(report->new_fingerprint, KeyFingerprint(new_key));
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".new"));
  struct stat info {};
  ASSERT_EQ(stat(KeyFile().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ExpectValuesReadable();

  auto with_old = Vault(common::Base64Encode(old_key));
  ASSERT_FALSE(with_old.has_value());
  EXPECT_NE(with_old.error().message.find("does not match"), std::string::npos);
}

TEST_F(RotateKeyTest, AVaultMadeBeforeTheRotationRefusesToWriteUnderTheOldKey) {
  PutValues();
  auto before = Vault();
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(RotateMasterKey(context_, *store_, "").has_value());
  auto put = (*before)->Put("alpha", "a-stale-write");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, core::ErrorCode::kServiceUnavailable);
  auto get = (*before)->Get("alpha");
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().code, core::ErrorCode::kServiceUnavailable);
  ExpectValuesReadable();
}

TEST_F(RotateKeyTest, KeysFromTheEnvironmentNeedTheNewKeyGivenAndWriteNoFile) {
  const std::string old_key = common::Base64Encode(common::RandomBytes(32));
  const std::string new_key = common::Base64Encode(common::RandomBytes(32));
  {
    auto vault = Vault(old_key);
    ASSERT_TRUE(vault.has_value()) << vault.error().message;
    for (const auto& [name, value] : kValues)
      ASSERT_TRUE((*vault)->Put(name, value).has_value());
  }
  contract::ProviderContext env_context = context_;
  env_context.section["master_key"] = old_key;

  auto refused = RotateMasterKey(env_context, *store_, "");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("RUNVOY_NEW_MASTER_KEY"), std::string::npos);
  ExpectValuesReadable(old_key);  // nothing changed

  auto report = RotateMasterKey(env_context, *store_, new_key);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->reencrypted, static_cast<int>(kValues.size()));
  EXPECT_EQ(report->key_file, "");
  EXPECT_FALSE(std::filesystem::exists(KeyFile()));
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".new"));
  ExpectValuesReadable(new_key);
  EXPECT_FALSE(Vault(old_key).has_value());
}

TEST_F(RotateKeyTest, AWrongCurrentKeyChangesNothing) {
  PutValues();
  contract::ProviderContext wrong = context_;
  wrong.section["master_key"] = common::Base64Encode(common::RandomBytes(32));
  auto report = RotateMasterKey(wrong, *store_, common::Base64Encode(common::RandomBytes(32)));
  ASSERT_FALSE(report.has_value());
  EXPECT_NE(report.error().message.find("not the one the stored secrets"), std::string::npos);
  ExpectValuesReadable();
}

TEST_F(RotateKeyTest, AServerRefusesToStartWhileARotationIsInProgress) {
  PutValues();
  FailingStore failing(*store_, 2);  // the mark and one value
  ASSERT_FALSE(RotateMasterKey(context_, failing, "").has_value());
  auto vault = Vault();
  ASSERT_FALSE(vault.has_value());
  EXPECT_NE(vault.error().message.find("run `runvoy server rotate-key` again"), std::string::npos)
      << vault.error().message;
  EXPECT_EQ(vault.error().message.find('\n'), std::string::npos);
}

TEST_F(RotateKeyTest, ARerunFinishesARotationInterruptedAtAnyWrite) {
  PutValues();
  // How many writes a whole rotation makes: the mark, each value, the fingerprint, the clear.
  const int total_writes = static_cast<int>(kValues.size()) + 3;
  std::string previous_key = RawKeyIn(KeyFile());
  for (int fail_at = 0; fail_at < total_writes; ++fail_at) {
    SCOPED_TRACE("interrupted at write " + std::to_string(fail_at));
    FailingStore failing(*store_, fail_at);
    auto interrupted = RotateMasterKey(context_, failing, "");
    ASSERT_FALSE(interrupted.has_value());
    EXPECT_EQ(failing.writes(), fail_at + 1);

    auto finished = RotateMasterKey(context_, *store_, "");
    ASSERT_TRUE(finished.has_value()) << finished.error().message;
    const int values = static_cast<int>(kValues.size());
    EXPECT_EQ(finished->reencrypted + finished->already_rotated, values);
    // Writes 1..values re-sealed values before the interruption.
    const int done_before = std::clamp(fail_at - 1, 0, values);
    EXPECT_EQ(finished->already_rotated, fail_at == 0 ? 0 : done_before);

    const std::string key = RawKeyIn(KeyFile());
    EXPECT_NE(key, previous_key);
    EXPECT_EQ(finished->new_fingerprint, KeyFingerprint(key));
    EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".new"));
    ExpectValuesReadable();
    previous_key = key;
  }
  FailingStore counting(*store_, 1000);
  ASSERT_TRUE(RotateMasterKey(context_, counting, "").has_value());
  EXPECT_EQ(counting.writes(), total_writes);
}

TEST_F(RotateKeyTest, AResumedRotationRefusesADifferentNewKey) {
  PutValues();
  FailingStore failing(*store_, 3);
  ASSERT_FALSE(RotateMasterKey(context_, failing, "").has_value());
  auto other = RotateMasterKey(context_, *store_, common::Base64Encode(common::RandomBytes(32)));
  ASSERT_FALSE(other.has_value());
  EXPECT_NE(other.error().message.find("must finish first"), std::string::npos);
  auto finished = RotateMasterKey(context_, *store_, "");
  ASSERT_TRUE(finished.has_value()) << finished.error().message;
  ExpectValuesReadable();
}

TEST_F(RotateKeyTest, AResumedRotationWithoutTheNewKeySaysWhichKeyItNeeds) {
  PutValues();
  FailingStore failing(*store_, 3);
  ASSERT_FALSE(RotateMasterKey(context_, failing, "").has_value());
  const std::string saved = ReadText(KeyFile() + ".new");
  std::filesystem::remove(KeyFile() + ".new");
  auto lost = RotateMasterKey(context_, *store_, "");
  ASSERT_FALSE(lost.has_value());
  EXPECT_NE(lost.error().message.find("cannot finish without that key"), std::string::npos);
  // Given back through the environment, the key finishes the job.
  std::string base64 = saved;
  while (!base64.empty() && base64.back() == '\n')
    base64.pop_back();
  auto finished = RotateMasterKey(context_, *store_, base64);
  ASSERT_TRUE(finished.has_value()) << finished.error().message;
  EXPECT_EQ(RawKeyIn(KeyFile()), *common::Base64Decode(base64));
  ExpectValuesReadable();
}

}  // namespace
}  // namespace runvoy::providers::vault_local
