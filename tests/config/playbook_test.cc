#include "config/playbook.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runvoy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ParseError(const std::string& yaml) {
  auto playbook = ParsePlaybook("deploy", yaml);
  if (playbook) {
    ADD_FAILURE() << "expected an error for:\n" << yaml;
    return {};
  }
  EXPECT_EQ(playbook.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(playbook.error().message.find('\n'), std::string::npos) << playbook.error().message;
  return playbook.error().message;
}

TEST(ParsePlaybook, ReadsEveryKey) {
  auto playbook = ParsePlaybook("deploy", R"(
description: Deploy the app
image: alpine:3.19
git_repo: https://github.com/example/app.git
git_ref: main
git_path: deploy
secrets:
  - DB_PASSWORD
  - GITHUB_TOKEN
env:
  STAGE: "{{stage}}"
  PORT: 8080
  EMPTY:
commands:
  - make build
  - ./deploy.sh {{stage}}
params:
  stage: staging
  region:
)");
  ASSERT_TRUE(playbook) << playbook.error().message;
  EXPECT_EQ(playbook->name, "deploy");
  EXPECT_EQ(playbook->description, "Deploy the app");
  EXPECT_EQ(playbook->image, "alpine:3.19");
  EXPECT_EQ(playbook->git_repo, "https://github.com/example/app.git");
  EXPECT_EQ(playbook->git_ref, "main");
  EXPECT_EQ(playbook->git_path, "deploy");
  EXPECT_THAT(playbook->secrets, ElementsAre("DB_PASSWORD", "GITHUB_TOKEN"));
  EXPECT_EQ(playbook->env, (std::map<std::string, std::string>{
                               {"STAGE", "{{stage}}"}, {"PORT", "8080"}, {"EMPTY", ""}}));
  EXPECT_THAT(playbook->commands, ElementsAre("make build", "./deploy.sh {{stage}}"));
  EXPECT_EQ(playbook->params, (std::map<std::string, std::string>{{"stage", "staging"}}));
  EXPECT_EQ(playbook->required_params, (std::set<std::string>{"region"}));
}

TEST(ParsePlaybook, OnlyCommandsIsEnough) {
  auto playbook = ParsePlaybook("hello", "commands: [echo hello]\nimage:\n");
  ASSERT_TRUE(playbook) << playbook.error().message;
  EXPECT_THAT(playbook->commands, ElementsAre("echo hello"));
  EXPECT_EQ(playbook->image, "");
  EXPECT_TRUE(playbook->secrets.empty());
  EXPECT_TRUE(playbook->params.empty());
}

TEST(ParsePlaybook, AnUnknownKeyIsAnErrorWithItsLine) {
  EXPECT_EQ(ParseError("commands: [ls]\n\nimgae: alpine\n"),
            "playbook \"deploy\", line 3: unknown key \"imgae\" (keys: description, image, "
            "git_repo, git_ref, git_path, secrets, env, commands, params)");
}

TEST(ParsePlaybook, AValueOfTheWrongTypeIsAnErrorWithItsLine) {
  EXPECT_EQ(ParseError("commands: [ls]\nimage:\n  - alpine\n"),
            "playbook \"deploy\", line 3: image: expected a value, got a list");
  EXPECT_EQ(ParseError("commands: [ls]\nsecrets: DB_PASSWORD\n"),
            "playbook \"deploy\", line 2: secrets: expected a list, got a value");
  EXPECT_EQ(ParseError("commands: [ls]\nenv: [A=1]\n"),
            "playbook \"deploy\", line 2: env: expected a map, got a list");
  EXPECT_EQ(ParseError("commands: [ls]\nenv:\n  A:\n    b: c\n"),
            "playbook \"deploy\", line 4: env.A: expected a value, got a map");
  EXPECT_EQ(ParseError("commands: echo hi\n"),
            "playbook \"deploy\", line 1: commands: expected a list, got a value");
  EXPECT_EQ(ParseError("commands:\n  - ls\n  - [a, b]\n"),
            "playbook \"deploy\", line 3: commands: expected a list of values, got a list in it");
  EXPECT_EQ(ParseError("commands: [ls]\nparams: [a]\n"),
            "playbook \"deploy\", line 2: params: expected a map, got a list");
}

TEST(ParsePlaybook, MissingOrEmptyCommandsIsAnError) {
  EXPECT_EQ(ParseError("# comment\n\nimage: alpine\n"),
            "playbook \"deploy\", line 3: missing key \"commands\" (a list of commands)");
  EXPECT_THAT(ParseError(""), HasSubstr("missing key \"commands\""));
  EXPECT_EQ(ParseError("image: alpine\ncommands: []\n"),
            "playbook \"deploy\", line 2: commands: expected at least one command");
  EXPECT_THAT(ParseError("commands:\n"), HasSubstr("expected at least one command"));
  EXPECT_EQ(ParseError("commands:\n  - ls\n  - ''\n"),
            "playbook \"deploy\", line 3: commands: empty entry");
}

TEST(ParsePlaybook, InvalidYamlIsAnErrorWithItsLine) {
  EXPECT_THAT(ParseError("commands:\n  - ls\nenv: {A: 1\n"),
              StartsWith("playbook \"deploy\", line "));
  EXPECT_THAT(ParseError("commands: [ls]\n\tbad: tab\n"), HasSubstr("invalid YAML"));
}

TEST(ParsePlaybook, ADocumentThatIsNotAMapIsAnError) {
  EXPECT_EQ(ParseError("- ls\n- pwd\n"),
            "playbook \"deploy\", line 1: expected a map of keys, got a list");
}

TEST(ParsePlaybook, BadNamesAndDuplicatesAreErrors) {
  EXPECT_THAT(ParseError("commands: [ls]\nenv:\n  1BAD: x\n"),
              HasSubstr("line 3: env: \"1BAD\" is not a variable name"));
  EXPECT_THAT(ParseError("commands: [ls]\nparams:\n  \"a b\": x\n"),
              HasSubstr("line 3: params: \"a b\" is not a parameter name"));
  EXPECT_THAT(ParseError("commands: [ls]\ncommands: [pwd]\n"),
              HasSubstr("line 2: duplicate key \"commands\""));
  EXPECT_THAT(ParseError("commands: [ls]\nenv:\n  A: 1\n  A: 2\n"),
              HasSubstr("line 4: env: duplicate name \"A\""));
}

Playbook Parsed(const std::string& yaml) {
  auto playbook = ParsePlaybook("deploy", yaml);
  EXPECT_TRUE(playbook) << playbook.error().message;
  return playbook ? *playbook : Playbook{};
}

TEST(ApplyParams, SubstitutesDefaultsInCommandsAndEnvValues) {
  const Playbook playbook = Parsed(R"(
image: "{{stage}}"
env:
  TARGET: "{{stage}}-{{region}}"
commands:
  - deploy --stage {{stage}} --region {{ region }}
params:
  stage: staging
  region: eu-west-1
)");
  auto applied = ApplyParams(playbook, {});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_THAT(applied->commands, ElementsAre("deploy --stage staging --region eu-west-1"));
  EXPECT_EQ(applied->env.at("TARGET"), "staging-eu-west-1");
  EXPECT_EQ(applied->image, "{{stage}}");  // only commands and env values are templates
}

TEST(ApplyParams, OverridesBeatDefaults) {
  const Playbook playbook = Parsed("commands:\n  - echo {{who}} {{who}}\nparams:\n  who: world\n");
  auto applied = ApplyParams(playbook, {{"who", "team"}});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_THAT(applied->commands, ElementsAre("echo team team"));
  EXPECT_EQ(applied->params, (std::map<std::string, std::string>{{"who", "team"}}));
}

TEST(ApplyParams, AnUndeclaredOverrideIsAnError) {
  const Playbook playbook = Parsed("commands:\n  - echo {{who}}\nparams:\n  who: world\n");
  auto applied = ApplyParams(playbook, {{"whom", "team"}});
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(applied.error().message,
            "--param whom: playbook \"deploy\" declares no such param (declared: who)");

  auto none = ApplyParams(Parsed("commands: [ls]\n"), {{"x", "1"}});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "--param x: playbook \"deploy\" declares no such param (it declares none)");
}

TEST(ApplyParams, AReferenceWithNoValueIsAnError) {
  auto applied = ApplyParams(Parsed("commands:\n  - ls\n  - echo {{nobody}}\n"), {});
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(applied.error().message,
            "playbook \"deploy\": command 2 uses {{nobody}} but no param \"nobody\" is declared "
            "under params:");

  auto in_env = ApplyParams(Parsed("commands: [ls]\nenv:\n  A: \"{{x}}\"\n"), {});
  ASSERT_FALSE(in_env);
  EXPECT_THAT(in_env.error().message, HasSubstr("env A uses {{x}}"));
}

TEST(ApplyParams, ARequiredParamMustBeGiven) {
  const Playbook playbook = Parsed("commands:\n  - deploy {{stage}}\nparams:\n  stage:\n");
  auto missing = ApplyParams(playbook, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "playbook \"deploy\" needs --param stage=VALUE (it has no default)");

  auto given = ApplyParams(playbook, {{"stage", "prod"}});
  ASSERT_TRUE(given) << given.error().message;
  EXPECT_THAT(given->commands, ElementsAre("deploy prod"));
  EXPECT_TRUE(given->required_params.empty());
}

TEST(ApplyParams, BracesAroundSomethingElseAreKept) {
  const Playbook playbook = Parsed(
      "commands:\n  - docker ps --format '{{.Names}}' {{ x }} {{\n  - echo '{{}}'\n"
      "params:\n  x: y\n");
  auto applied = ApplyParams(playbook, {});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_THAT(applied->commands,
              ElementsAre("docker ps --format '{{.Names}}' y {{", "echo '{{}}'"));
}

TEST(ApplyParams, AnEmptyValueIsAValue) {
  const Playbook playbook = Parsed("commands: [\"run {{extra}}\"]\nparams:\n  extra: ''\n");
  auto applied = ApplyParams(playbook, {});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_THAT(applied->commands, ElementsAre("run "));
}

TEST(ApplyParams, ValuesAreNotSubstitutedTwice) {
  const Playbook playbook = Parsed("commands: [\"echo {{a}}\"]\nparams:\n  a: x\n  b: y\n");
  auto applied = ApplyParams(playbook, {{"a", "{{b}}"}});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_THAT(applied->commands, ElementsAre("echo {{b}}"));
}

// Found by fuzz/playbook_fuzzer: yaml-cpp names a bad escape by its raw character, which put a
// line break (or any control character) into the one-line message.
TEST(ParsePlaybook, AYamlErrorAboutAControlCharacterStaysOnOneLine) {
  EXPECT_EQ(ParseError("commands: [ls]\ndescription: \"a\\\rb\"\n"),
            "playbook \"deploy\", line 2: invalid YAML: unknown escape character: \\x0d");
}

// Found by fuzz/server_config_fuzzer: YAML is Unicode; stray bytes were read as they are.
TEST(ParsePlaybook, TextThatIsNotUtf8IsAnErrorWithItsLine) {
  EXPECT_EQ(ParseError("commands: [ls]\nimage: caf\xe9\n"),
            "playbook \"deploy\", line 2: invalid YAML: not printable UTF-8 text");
}

// Found by fuzz/playbook_fuzzer: a key with control characters went raw into the message.
TEST(ParsePlaybook, AnErrorNamingAKeyWithControlCharactersStaysOnOneLine) {
  EXPECT_EQ(ParseError("commands: [ls]\nparams:\n  \"a\\nb\": [1]\n"),
            "playbook \"deploy\", line 3: params.a\\x0ab: expected a value, got a list");
}

}  // namespace
}  // namespace runvoy::config
