#pragma once

// Small in-memory stand-ins for unit tests that need a provider but never exercise it.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/vault.h"
#include "service/log_feed.h"

namespace runvoy::testing {

// Accepts tasks and remembers them; never reports events by itself.
class FakeCompute final : public contract::ComputeProvider {
 public:
  std::string Name() const override { return "fake"; }
  contract::Capabilities Describe() const override { return {}; }
  void SetEventSink(contract::EventSink& sink) override { sink_ = &sink; }
  core::Result<std::string> Start(const contract::TaskSpec& spec) override {
    std::scoped_lock lock(mutex_);
    started_.push_back(spec.execution_id);
    return "task-" + spec.execution_id;
  }
  core::Result<void> Attach(const std::string&, const std::string&, int64_t) override {
    return core::Fail(core::ErrorCode::kNotFound, "unknown task");
  }
  core::Result<void> Kill(const std::string&, contract::KillReason) override { return {}; }
  core::Result<std::vector<contract::TaskState>> List() override {
    return std::vector<contract::TaskState>();
  }
  core::Result<void> CheckImage(const contract::ImageSpec&) override { return {}; }

  contract::EventSink* sink_ = nullptr;

 private:
  std::mutex mutex_;  // guards started_
  std::vector<std::string> started_;
};

class MemoryVault final : public contract::SecretVault {
 public:
  std::string Name() const override { return "memory"; }
  core::Result<void> Put(const std::string& name, const std::string& value) override {
    std::scoped_lock lock(mutex_);
    values_[name] = value;
    return {};
  }
  core::Result<std::optional<std::string>> Get(const std::string& name) override {
    std::scoped_lock lock(mutex_);
    const auto it = values_.find(name);
    if (it == values_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  core::Result<void> Remove(const std::string& name) override {
    std::scoped_lock lock(mutex_);
    values_.erase(name);
    return {};
  }

 private:
  std::mutex mutex_;  // guards values_
  std::map<std::string, std::string> values_;
};

class NullFeed final : public service::LogFeed {
 public:
  void OnEvents(const std::string&, const std::vector<core::LogEvent>&) override {}
  void OnFinished(const std::string&, core::ExecutionStatus, std::optional<int>) override {}
};

}  // namespace runvoy::testing
