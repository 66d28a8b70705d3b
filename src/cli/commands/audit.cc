#include <boost/json.hpp>

#include "cli/audit_verify.h"
#include "cli/commands/commands.h"

namespace runvoy::cli {

namespace json = boost::json;

void AddAuditCommands(CLI::App& app, Action& action) {
  CLI::App* audit = app.add_subcommand("audit", "check the audit trail (admin)");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand("verify", "verify every node's audit hash chain");
  verify->callback([&action] {
    action = [](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        AuditVerifier verifier;
        std::string after;
        while (true) {
          std::string path = "/audit?limit=1000";
          if (!after.empty()) {
            path += "&after=" + UrlEncode(after);
          }
          auto reply = api.Get(path);
          if (!reply) {
            return context.Fail(reply.error());
          }
          const json::value body = reply->Json();
          const json::value* entries =
              body.is_object() ? body.as_object().if_contains("entries") : nullptr;
          if (entries == nullptr || !entries->is_array()) {
            return context.FailLocal(
                {core::ErrorCode::kInternal, "the server sent no audit entries", {}});
          }
          for (const json::value& entry : entries->as_array()) {
            verifier.Add(entry);
          }
          const json::value* next =
              body.is_object() ? body.as_object().if_contains("next_after") : nullptr;
          if (next == nullptr || next->is_null() || entries->as_array().empty()) {
            break;
          }
          const std::string next_text = CellText(next);
          if (next_text.empty() || next_text == after) {
            break;
          }
          after = next_text;
        }
        if (context.json()) {
          json::array chains;
          for (const auto& [node, chain] : verifier.chains()) {
            json::array problems;
            for (const auto& problem : chain.problems) {
              problems.emplace_back(problem);
            }
            chains.push_back(json::object{{"node", node},
                                          {"entries", chain.entries},
                                          {"first_seq", chain.first_seq},
                                          {"last_seq", chain.last_seq},
                                          {"intact", chain.problems.empty()},
                                          {"problems", problems}});
          }
          context.out() << json::serialize(
                               json::object{{"intact", verifier.intact()}, {"chains", chains}})
                        << "\n";
        } else {
          std::vector<std::vector<std::string>> rows;
          for (const auto& [node, chain] : verifier.chains()) {
            rows.push_back({node, std::to_string(chain.entries), std::to_string(chain.first_seq),
                            std::to_string(chain.last_seq),
                            chain.problems.empty() ? "intact" : "BROKEN"});
          }
          PrintTable(context.out(), context.style(),
                     {"NODE", "ENTRIES", "FIRST SEQ", "LAST SEQ", "CHAIN"}, rows);
          for (const auto& [node, chain] : verifier.chains()) {
            for (const auto& problem : chain.problems) {
              context.err() << "  " << node << ": " << problem << "\n";
            }
          }
        }
        if (!verifier.intact()) {
          PrintFailure(context.err(), context.style(), "the audit trail has been tampered with");
          return kExitApiError;
        }
        PrintSuccess(context.err(), context.style(), "every audit chain is intact");
        return kExitOk;
      });
    };
  });
}

}  // namespace runvoy::cli
