#pragma once

// Playbooks (SPEC.md §4): YAML files in ./.runvoy/ or ~/.runvoy/ describing a command to run.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace runvoy::config {

using core::Result;

struct Playbook {
  std::string name;  // the file name without .yaml/.yml
  std::string description, image, git_repo, git_ref, git_path;
  std::vector<std::string> secrets;
  std::map<std::string, std::string> env;
  std::vector<std::string> commands;  // never empty; run joined with " && "
  // Declared parameters with their defaults, referenced as {{name}} in commands and env values.
  std::map<std::string, std::string> params;
  // Declared parameters with no default (`name:` with no value): --param must set them.
  std::set<std::string> required_params;
};

// Parses and validates a playbook. Errors (kInvalidRequest, one line with the line number):
// invalid YAML, an unknown key, a value of the wrong type, a missing or empty `commands`, an
// invalid env or param name, a duplicate key. Does not substitute params. Never throws.
Result<Playbook> ParsePlaybook(const std::string& name, const std::string& yaml_text);

// The playbook with every {{name}} (spaces inside the braces allowed) in commands and env
// values replaced by the param's value: `overrides` (from --param) over the declared
// defaults. Braces around anything that is not a param name ("{{.Names}}", a Go template)
// are left alone. `params` of the result holds the values used, `required_params` is empty.
// Errors (kInvalidRequest): an override the playbook does not declare, a {{name}} with no
// value (not declared), a required param that was not given.
Result<Playbook> ApplyParams(const Playbook& playbook,
                             const std::map<std::string, std::string>& overrides);

}  // namespace runvoy::config
