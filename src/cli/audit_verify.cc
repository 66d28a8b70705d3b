#include "cli/audit_verify.h"

#include "cli/output.h"
#include "common/json_fields.h"
#include "core/audit_hash.h"
#include "core/records.h"
#include "core/time.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

int64_t Int(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && (value->is_int64() || value->is_uint64()) ? value->to_number<int64_t>()
                                                                       : -1;
}

}  // namespace

void AuditVerifier::Add(const json::value& value) {
  if (!value.is_object()) {
    chains_["?"].node = "?";
    chains_["?"].problems.push_back("an entry that is not a JSON object");
    return;
  }
  const json::object& object = value.as_object();
  core::AuditEntry entry;
  entry.seq = Int(object, "seq");
  entry.node = common::StringField(object, "node");
  entry.request_id = common::StringField(object, "request_id");
  entry.client_request_id = common::StringField(object, "client_request_id");
  entry.user = common::StringField(object, "user");
  entry.role = common::StringField(object, "role");
  entry.method = common::StringField(object, "method");
  entry.path = common::StringField(object, "path");
  entry.status = static_cast<int>(Int(object, "status"));
  entry.client_ip = common::StringField(object, "client_ip");
  entry.resource = common::StringField(object, "resource");
  entry.detail = common::StringField(object, "detail");
  entry.prev_hash = common::StringField(object, "prev_hash");
  entry.hash = common::StringField(object, "hash");

  AuditChainReport& chain = chains_[entry.node];
  chain.node = entry.node;
  const std::string where = "seq " + std::to_string(entry.seq);
  const auto time = core::ParseRfc3339(common::StringField(object, "time"));
  if (!time) {
    chain.problems.push_back(where + ": unreadable time");
  } else {
    entry.time = *time;
    if (core::AuditEntryHash(entry) != entry.hash) {
      chain.problems.push_back(where + ": hash does not match the entry (altered)");
    }
  }
  auto last = last_hash_.find(entry.node);
  if (last != last_hash_.end()) {
    if (entry.seq != chain.last_seq + 1) {
      chain.problems.push_back(where + ": expected seq " + std::to_string(chain.last_seq + 1) +
                               " (entries missing or reordered)");
    }
    if (entry.prev_hash != last->second) {
      chain.problems.push_back(where + ": prev_hash does not match the previous entry");
    }
  } else {
    chain.first_seq = entry.seq;
  }
  ++chain.entries;
  chain.last_seq = entry.seq;
  last_hash_[entry.node] = entry.hash;
}

bool AuditVerifier::intact() const {
  for (const auto& [node, chain] : chains_) {
    if (!chain.problems.empty()) {
      return false;
    }
  }
  return true;
}

}  // namespace runvoy::cli
