#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace runvoy::cli {

// One node's hash chain as seen by `runvoy audit verify`.
struct AuditChainReport {
  std::string node;
  int64_t entries = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  std::vector<std::string> problems;  // empty: the chain is intact
};

// Checks audit entries (as the API sends them, in any node order but each node's entries in
// sequence) one page at a time: every entry's hash must match its content
// (core::AuditEntryHash), and each entry must follow the previous one of its node (seq + 1,
// prev_hash = that entry's hash). Not thread-safe.
class AuditVerifier {
 public:
  void Add(const boost::json::value& entry);
  // The chains by node name.
  const std::map<std::string, AuditChainReport>& chains() const { return chains_; }
  bool intact() const;

 private:
  std::map<std::string, AuditChainReport> chains_;
  std::map<std::string, std::string> last_hash_;
};

}  // namespace runvoy::cli
