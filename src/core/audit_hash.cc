#include "core/audit_hash.h"

#include <fmt/format.h>

#include "core/sha256.h"

namespace runvoy::core {
namespace {

void AppendField(std::string& out, const std::string& value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

}  // namespace

std::string AuditEntryHash(const AuditEntry& entry) {
  std::string material = "runvoy-audit-v1;";
  AppendField(material, std::to_string(entry.seq));
  AppendField(material, std::to_string(ToUnixMillis(entry.time)));
  AppendField(material, entry.node);
  AppendField(material, entry.request_id);
  AppendField(material, entry.client_request_id);
  AppendField(material, entry.user);
  AppendField(material, entry.role);
  AppendField(material, entry.method);
  AppendField(material, entry.path);
  AppendField(material, std::to_string(entry.status));
  AppendField(material, entry.client_ip);
  AppendField(material, entry.resource);
  AppendField(material, entry.detail);
  AppendField(material, entry.prev_hash);
  return Sha256Hex(material);
}

}  // namespace runvoy::core
