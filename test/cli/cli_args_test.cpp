// The pure part of the `fedora` CLI: parsing, exit codes, help, output rendering.
#include "args.hpp"
#include "to_json.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace fedora::cli;
using fedora::errc;
using fedora::make_error_code;

namespace {

invocation parse(std::vector<std::string_view> args)
{
    return parse_command_line(args);
}

} // namespace

TEST_CASE("cli args: a command, its positionals, its options and the global ones")
{
    auto inv = parse({"--json", "fas", "people-by-key", "--key", "email", "--search", "toshio*", "--fields", "id",
                      "--timeout", "5s"});
    REQUIRE(inv.command);
    CHECK(inv.command->service == "fas");
    CHECK(inv.command->name == "people-by-key");
    CHECK(inv.global.format == output_format::json);
    CHECK(inv.get("key") == "email");
    CHECK(inv.get("search") == "toshio*");
    CHECK(inv.list("fields") == std::vector<std::string>{"id"});
    REQUIRE(inv.global.timeout);
    CHECK(inv.global.timeout->count() == 5000);
    CHECK(inv.args.empty());

    auto p = parse({"fas", "person", "jdoe", "--pretty", "--emulator", "--url=/accounts/"});
    CHECK(p.args == std::vector<std::string>{"jdoe"});
    CHECK(p.global.format == output_format::pretty);
    CHECK(p.global.emulator);
    CHECK(p.global.url == "/accounts/");
}

TEST_CASE("cli args: repeated and comma-separated values, inline values, negative numbers")
{
    auto inv = parse({"bodhi", "updates", "--package", "foo", "--package=bar,baz", "--status", "testing"});
    CHECK(inv.list("package") == std::vector<std::string>{"foo", "bar", "baz"});
    CHECK(inv.get("status") == "testing");

    auto c = parse({"bodhi", "comment", "FEDORA-2015-1", "broken for me", "--karma", "-1"});
    CHECK(c.args == std::vector<std::string>{"FEDORA-2015-1", "broken for me"});
    CHECK(c.get_int("karma", 0, -1, 1) == -1);

    auto o = parse({"bodhi", "override-save", "a-1-1.fc22", "b-2-1.fc22", "--expiration", "2015-10-01"});
    CHECK(o.args.size() == 2);

    // "--" ends the options: the text may start with "--".
    auto d = parse({"bodhi", "comment", "KEY", "--", "--not-an-option"});
    CHECK(d.args == std::vector<std::string>{"KEY", "--not-an-option"});
}

TEST_CASE("cli args: usage errors")
{
    CHECK_THROWS_AS(parse({"fas", "person"}), usage_error);                       // missing USERNAME
    CHECK_THROWS_AS(parse({"fas", "person", "a", "b"}), usage_error);             // one too many
    CHECK_THROWS_AS(parse({"fas", "no-such-command"}), usage_error);
    CHECK_THROWS_AS(parse({"nothing"}), usage_error);
    CHECK_THROWS_AS(parse({"fas", "person", "jdoe", "--bogus"}), usage_error);
    CHECK_THROWS_AS(parse({"fas", "people-by-key", "--key"}), usage_error);       // value missing
    CHECK_THROWS_AS(parse({"fas", "people-by-key", "--key", "a", "--key", "b"}), usage_error);  // not repeatable
    CHECK_THROWS_AS(parse({"--timeout", "soon", "fas", "user-id"}), usage_error);
    CHECK_THROWS_AS(parse({"--json=yes", "fas", "user-id"}), usage_error);         // a flag takes no value
    CHECK_THROWS_AS(parse({"bodhi", "--status", "testing", "updates"}), usage_error);  // options after the command
    CHECK_THROWS_AS(parse({"-x"}), usage_error);
    auto u = parse({"bodhi", "updates", "--rows", "1000"});
    CHECK_THROWS_AS(u.get_int("rows", 20, 1, 100), usage_error);
    // Credentials never come from the command line.
    CHECK_THROWS_AS(parse({"--password", "secret", "fas", "user-info"}), usage_error);
}

TEST_CASE("cli args: help and version")
{
    CHECK(parse({}).command == nullptr);
    CHECK(parse({"--help"}).help);
    CHECK(parse({"--version"}).version);
    auto s = parse({"fas", "--help"});
    CHECK(s.help);
    CHECK(s.service == "fas");
    CHECK(s.command == nullptr);
    auto c = parse({"fas", "person", "--help"});  // help even without the required USERNAME
    CHECK(c.help);
    REQUIRE(c.command);
    CHECK(c.command->name == "person");
    CHECK(parse({"help", "bodhi", "updates"}).help);

    const std::string top = top_level_help();
    CHECK(top.find("exit codes") != std::string::npos);
    CHECK(top.find("FEDORA_PASSWORD") != std::string::npos);
    CHECK(service_help("bodhi").find("updates") != std::string::npos);
    // Every command has a help text with its usage line, and none takes a password option.
    for (const auto& cmd : commands()) {
        const std::string h = command_help(cmd);
        CHECK(h.find("usage: fedora") == 0);
        CHECK(h.find(std::string(cmd.name)) != std::string::npos);
        for (const auto& o : cmd.options)
            CHECK(o.name.find("password") == std::string_view::npos);
    }
}

TEST_CASE("cli args: the command table covers every FAS and Bodhi operation")
{
    for (auto name : {"login", "logout", "refresh-session", "verify-session", "verify-password", "user-info",
                      "group-list", "send-request", "person", "person-by-id", "group", "group-by-id",
                      "group-members", "people-by-key", "people-by-id", "people-by-groupname", "people-query",
                      "user-id", "user-data", "group-data", "get-config", "get-configs-like", "set-config",
                      "create-group", "user-gencert", "avatar-url"})
        CHECK_MESSAGE(find_command("fas", name), name);
    for (auto name : {"version", "login", "logout", "updates", "update", "save", "request", "comment", "delete",
                      "releases", "latest-builds", "candidate-tags", "critpath", "override-save", "override-expire",
                      "overrides", "override", "packages", "comments"})
        CHECK_MESSAGE(find_command("bodhi", name), name);
}

TEST_CASE("cli args: exit code per error kind")
{
    CHECK(exit_code_for({}) == 0);
    CHECK(exit_code_for(make_error_code(errc::auth_error)) == exit_auth);
    CHECK(exit_code_for(make_error_code(errc::cla_error)) == exit_auth);
    CHECK(exit_code_for(make_error_code(errc::app_error)) == exit_not_found);
    CHECK(exit_code_for(make_error_code(errc::timeout)) == exit_network);
    CHECK(exit_code_for(make_error_code(errc::connect_error)) == exit_network);
    CHECK(exit_code_for(make_error_code(errc::tls_error)) == exit_network);
    CHECK(exit_code_for(make_error_code(errc::server_error)) == exit_server);
    CHECK(exit_code_for(make_error_code(errc::protocol_error)) == exit_server);
    CHECK(exit_code_for(make_error_code(errc::not_supported)) == exit_not_supported);
    CHECK(exit_code_for(make_error_code(errc::invalid_argument)) == exit_usage);
    CHECK(exit_code_for(make_error_code(errc::cancelled)) == exit_failure);
    CHECK(exit_code_for(boost::system::errc::make_error_code(boost::system::errc::io_error)) == exit_failure);
}

TEST_CASE("cli args: durations and lists")
{
    CHECK(parse_duration("30").count() == 30000);
    CHECK(parse_duration("250ms").count() == 250);
    CHECK(parse_duration("2m").count() == 120000);
    CHECK_THROWS_AS(parse_duration("0"), usage_error);
    CHECK_THROWS_AS(parse_duration("-5s"), usage_error);
    CHECK_THROWS_AS(parse_duration("2h"), usage_error);
    CHECK(split_list("a,,b,") == std::vector<std::string>{"a", "b"});
    CHECK(split_key_value("--param", "a=b=c") == std::pair<std::string, std::string>{"a", "b=c"});
    CHECK_THROWS_AS(split_key_value("--param", "=x"), usage_error);
}

TEST_CASE("cli output: tables, pages, JSON")
{
    auto rows = boost::json::parse(R"([{"id":1,"username":"jdoe","email":"j@x"},{"id":22,"username":"ab\u001b[2Jc"}])");
    const std::string_view cols[] = {"username", "id"};
    const std::string t = table_of(rows, cols);
    CHECK(t == "USERNAME  ID\n"
               "jdoe      1\n"
               "ab [2Jc   22\n");  // the escape character cannot reach the terminal
    auto page = boost::json::parse(R"({"rows":[{"key":"a","karma":1}],"page":1,"pages":3,"total":41})");
    const std::string p = table_of(page);
    CHECK(p.find("KEY  KARMA\na    1\n") == 0);
    CHECK(p.find("page 1 of 3, 41 in all") != std::string::npos);
    CHECK(table_of(boost::json::parse("[]")) == "(none)\n");
    CHECK(table_of(boost::json::parse(R"({"name":"x","groups":["a","b"],"ok":true})")) ==
          "name    x\ngroups  a,b\nok      yes\n");
    CHECK(table_of(boost::json::value("text")) == "text\n");
    CHECK(render(boost::json::parse(R"({"a":[1,2]})"), output_format::json) == "{\"a\":[1,2]}\n");
    CHECK(render(boost::json::parse(R"({"a":[1,2]})"), output_format::pretty) == "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
    // Long cells are cut on a code point boundary.
    auto longrow = boost::json::parse(R"([{"n":"ÅÅÅÅÅÅÅÅÅÅ"}])");
    CHECK(table_of(longrow, {}, 6) == "N\nÅÅÅ...\n");
}

TEST_CASE("cli: a Bodhi session survives the round trip through FEDORA_BODHI_SESSION")
{
    fedora::bodhi::session s;
    s.origin = "https://bodhi.example.org:443";
    s.username = "alice";
    s.cookies = {{"auth_tkt", "abc!def"}, {"session", "123"}};
    s.csrf_token = "tok";
    auto back = session_from_text(session_to_text(s));
    CHECK(back.origin == s.origin);
    CHECK(back.username == "alice");
    CHECK(back.cookies == s.cookies);
    CHECK(back.csrf_token == "tok");
    CHECK_THROWS_AS(session_from_text("not json"), usage_error);
    CHECK_THROWS_AS(session_from_text(R"({"origin":"x","cookies":[["a b","c"]]})"), usage_error);
    CHECK_THROWS_AS(session_from_text(R"({"cookies":[]})"), usage_error);  // no origin
}
