// The `fedora` command line, as pure functions: the command table, the parser, the help
// texts, the exit code of each error kind, and the rendering of results as JSON or a table.
// Nothing here does I/O, so all of it is unit-tested (test/cli/cli_args_test.cpp).
#pragma once

#include <fedora/error.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fedora::cli {

// Anything the user typed wrong. main() prints it with a hint and exits with exit_usage.
struct usage_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// A lookup that found nothing (python-fedora's `{}`): exit_not_found.
struct not_found : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// Exit codes, one per error kind (documented in `fedora --help` and the README).
enum exit_code : int {
    exit_ok = 0,
    exit_failure = 1,      // anything else: cancelled, client closed, an unexpected exception
    exit_usage = 2,        // bad command line, or input the SDK refused (invalid_argument)
    exit_auth = 3,         // auth_error, cla_error, no credentials, invalid session/password
    exit_not_found = 4,    // app_error (the server's own refusal), or nothing found
    exit_network = 5,      // timeout, connect_error, tls_error, queue_full, redirect_error
    exit_server = 6,       // server_error, protocol_error, limit_exceeded
    exit_not_supported = 7,// the server's version cannot do this (Bodhi 1 vs 2)
};

int exit_code_for(error_code ec) noexcept;

enum class output_format { table, json, pretty };

struct option_spec
{
    std::string_view name;        // without "--"
    std::string_view value_name;  // "" = a flag without value
    std::string_view help;
    bool repeatable = false;
};

enum class auth_need { none, optional, required };

struct command_spec
{
    std::string_view service;     // "fas", "bodhi", or "" for top-level commands (demo)
    std::string_view name;
    std::vector<std::string_view> positionals;  // "NAME", "[PATTERN]" (optional), "NVR..." (one or more)
    std::vector<option_spec> options;
    std::string_view summary;
    std::string_view details;     // the SDK call and request(s), auth, output
    auth_need auth = auth_need::none;
    std::vector<std::string_view> table_columns;  // for list results; empty = all scalar keys
};

const std::vector<command_spec>& commands();
const command_spec* find_command(std::string_view service, std::string_view name);
const std::vector<option_spec>& global_options_spec();

struct global_options
{
    std::string url;              // "" = the service's default (or the emulator's mount)
    bool insecure = false;
    std::string ca_file;
    std::optional<std::chrono::milliseconds> timeout;
    output_format format = output_format::table;
    bool emulator = false;
    std::size_t emulator_people = 200;
    std::string user;             // overrides FEDORA_USERNAME (a name, never a secret)
    std::string openid_url;       // Bodhi 2 login provider
    bool quiet = false;           // no progress line
};

struct invocation
{
    global_options global;
    const command_spec* command = nullptr;  // nullptr: top-level help (or a service's list)
    std::string service;                    // set for `fedora fas --help`
    std::map<std::string, std::vector<std::string>, std::less<>> options;
    std::vector<std::string> args;
    bool help = false;
    bool version = false;

    bool has(std::string_view option) const;
    // The last value of an option, or def.
    std::string get(std::string_view option, std::string_view def = {}) const;
    std::vector<std::string> all(std::string_view option) const;
    // An integer option in [min, max] (usage_error otherwise).
    std::int64_t get_int(std::string_view option, std::int64_t def, std::int64_t min, std::int64_t max) const;
    // Comma-separated or repeated values: "--fields id,email --fields username".
    std::vector<std::string> list(std::string_view option) const;
};

// Parses argv[1..]. Global options may appear anywhere; "--name=value" and "--name value"
// both work; "--" ends the options. Throws usage_error.
invocation parse_command_line(std::span<const std::string_view> args);

std::int64_t parse_int(std::string_view what, std::string_view text, std::int64_t min, std::int64_t max);
// "30", "30s", "500ms", "2m" -> milliseconds (usage_error otherwise).
std::chrono::milliseconds parse_duration(std::string_view text);
// "a,b,,c" -> {"a","b","c"}
std::vector<std::string> split_list(std::string_view text);
// "key=value" -> {key, value}; usage_error without '='.
std::pair<std::string, std::string> split_key_value(std::string_view what, std::string_view text);

std::string top_level_help();
std::string service_help(std::string_view service);
std::string command_help(const command_spec& c);

// Output. JSON: compact (one line) or pretty (indented). Table: an array of objects becomes
// aligned columns; an object with "rows" (a page) its rows plus a "page N of M" line; any
// other object "key  value" lines; a scalar its text. Long cells are cut at max_cell.
std::string render(const boost::json::value& v, output_format f, std::span<const std::string_view> columns = {},
                   std::size_t max_cell = 60);
std::string to_pretty_json(const boost::json::value& v);
std::string table_of(const boost::json::value& v, std::span<const std::string_view> columns = {},
                     std::size_t max_cell = 60);

} // namespace fedora::cli
