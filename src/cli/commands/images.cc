#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/json.hpp>

#include "cli/commands/commands.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

void PrintImage(Context& context, const json::value& image) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* key : {"image_id", "image", "is_default", "cpu", "memory", "runtime_platform",
                          "image_registry", "image_name", "image_tag", "task_role_name",
                          "task_execution_role_name", "created_by", "owned_by", "created_at"}) {
    if (image.is_object() && image.as_object().contains(key)) {
      fields.emplace_back(key, Field(image, key));
    }
  }
  PrintRecord(context.out(), fields);
}

}  // namespace

void AddImageCommands(CLI::App& app, Action& action) {
  CLI::App* images = app.add_subcommand("images", "manage the images commands run in");
  images->require_subcommand(1);

  struct RegisterArgs {
    std::string image;
    bool is_default = false;
    int cpu = 0;
    int memory = 0;
    std::string runtime_platform;
    std::string task_role_name;
    std::string task_execution_role_name;
  };
  auto reg = std::make_shared<RegisterArgs>();
  CLI::App* register_cmd = images->add_subcommand("register", "register an image");
  register_cmd->add_option("image", reg->image, "image reference, e.g. ubuntu:22.04")->required();
  register_cmd->add_flag("--default", reg->is_default, "make it the default image");
  register_cmd->add_option("--cpu", reg->cpu, "CPU units (default 256)")
      ->check(CLI::PositiveNumber);
  register_cmd->add_option("--memory", reg->memory, "memory in MB (default 512)")
      ->check(CLI::PositiveNumber);
  register_cmd->add_option("--runtime-platform", reg->runtime_platform,
                           "Linux/X86_64 or Linux/ARM64");
  register_cmd->add_option("--task-role-name", reg->task_role_name, "task role name");
  register_cmd->add_option("--task-execution-role-name", reg->task_execution_role_name,
                           "task execution role name");
  register_cmd->callback([&action, reg] {
    action = [args = *reg](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        json::object body{{"image", args.image}};
        if (args.is_default) {
          body["is_default"] = true;
        }
        if (args.cpu > 0) {
          body["cpu"] = args.cpu;
        }
        if (args.memory > 0) {
          body["memory"] = args.memory;
        }
        if (!args.runtime_platform.empty()) {
          body["runtime_platform"] = args.runtime_platform;
        }
        if (!args.task_role_name.empty()) {
          body["task_role_name"] = args.task_role_name;
        }
        if (!args.task_execution_role_name.empty()) {
          body["task_execution_role_name"] = args.task_execution_role_name;
        }
        auto reply = api.Post("/images/register", body);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
          context.out() << Field(value, "image_id") << "\n";
        });
      });
    };
  });

  struct ImportArgs {
    std::string name;
    std::string file;
  };
  auto imp = std::make_shared<ImportArgs>();
  CLI::App* import_cmd = images->add_subcommand(
      "import", "import a `docker save` or OCI layout tarball as an image (admin)");
  import_cmd->add_option("name", imp->name, "the image's name, e.g. tools:1")->required();
  import_cmd->add_option("file", imp->file, "the tarball")->required();
  import_cmd->callback([&action, imp] {
    action = [args = *imp](Context& context) {
      std::ifstream in(args.file, std::ios::binary);
      if (!in) {
        return context.Fail(core::Error{core::ErrorCode::kInvalidRequest,
                                        "cannot read " + args.file, std::strerror(errno)});
      }
      std::stringstream content;
      content << in.rdbuf();
      const std::string body = content.str();
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Send("POST", "/images/import?image=" + UrlEncode(args.name), body);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
          context.out() << Field(value, "image_id") << "\n";
        });
      });
    };
  });

  CLI::App* list = images->add_subcommand("list", "list registered images");
  list->callback([&action] {
    action = [](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/images");
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          std::vector<std::vector<std::string>> rows;
          const json::value* list_json =
              value.is_object() ? value.as_object().if_contains("images") : nullptr;
          if (list_json != nullptr && list_json->is_array()) {
            for (const json::value& image : list_json->as_array()) {
              const bool is_default =
                  image.is_object() && image.as_object().contains("is_default") &&
                  image.at("is_default").is_bool() && image.at("is_default").as_bool();
              rows.push_back({Field(image, "image_id"), Field(image, "image"),
                              is_default ? "yes" : "", Field(image, "cpu"), Field(image, "memory"),
                              Field(image, "runtime_platform")});
            }
          }
          PrintTable(context.out(), context.style(),
                     {"IMAGE ID", "IMAGE", "DEFAULT", "CPU", "MEMORY", "PLATFORM"}, rows);
        });
      });
    };
  });

  auto show_ref = std::make_shared<std::string>();
  CLI::App* show = images->add_subcommand("show", "show one image");
  show->add_option("image", *show_ref, "image ID or reference")->required();
  show->callback([&action, show_ref] {
    action = [ref = *show_ref](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/images/" + UrlEncodePath(ref));
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) { PrintImage(context, value); });
      });
    };
  });

  auto unregister_id = std::make_shared<std::string>();
  CLI::App* unregister = images->add_subcommand("unregister", "remove a registered image");
  unregister->add_option("image_id", *unregister_id, "the image ID (not a reference)")->required();
  unregister->callback([&action, unregister_id] {
    action = [id = *unregister_id](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Delete("/images/" + UrlEncodePath(id));
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
        });
      });
    };
  });
}

}  // namespace runvoy::cli
