// The real `fedora` executable (path in FEDORA_CLI), run with --emulator: output and exit
// codes as a script would see them. stdin is /dev/null, so it never prompts.
#include "args.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

struct run_result
{
    int code = -1;
    std::string out, err;
};

std::string quote(const std::string& s)
{
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// env: "NAME=value" pairs; every FEDORA_* variable of the test's own environment is unset.
run_result run(const std::string& env, const std::string& args)
{
    const char* exe = std::getenv("FEDORA_CLI");
    REQUIRE_MESSAGE(exe, "FEDORA_CLI must name the fedora executable");
    char tmpl[] = "/tmp/fedora-cli-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    const std::string cmd = "env -u FEDORA_USERNAME -u FEDORA_PASSWORD -u FEDORA_SESSION_ID -u FEDORA_BODHI_SESSION " +
                            env + " " + quote(exe) + " " + args + " </dev/null 2>" + tmpl;
    run_result r;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
        r.out.append(buf.data(), n);
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream e(tmpl);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    std::filesystem::remove(tmpl);
    return r;
}

const std::string admin = "FEDORA_USERNAME=admin FEDORA_PASSWORD=admin";

} // namespace

using namespace fedora::cli;

TEST_CASE("fedora CLI: FAS lookups against the embedded emulator")
{
    auto r = run(admin, "--emulator --json fas person jdoe");
    CHECK_MESSAGE(r.code == 0, r.err);
    auto v = boost::json::parse(r.out);
    CHECK(v.at("username") == "jdoe");
    CHECK(v.at("id") == 100068);

    auto t = run(admin, "--emulator fas person jdoe");  // table: "key  value" lines
    CHECK(t.code == 0);
    CHECK(t.out.find("username") != std::string::npos);
    CHECK(t.out.find("jdoe") != std::string::npos);

    auto k = run(admin, "--emulator --json fas people-by-key --key email --search 'jdoe*' --fields id");
    CHECK_MESSAGE(k.code == 0, k.err);
    auto rows = boost::json::parse(k.out).as_array();
    REQUIRE(rows.size() >= 1);
    bool found = false;
    for (const auto& row : rows)
        found = found || (row.at("key").as_string().starts_with("jdoe@") && row.at("id") == 100068);
    CHECK(found);

    auto g = run(admin, "--emulator fas group-members packager");
    CHECK(g.code == 0);
    CHECK(g.out.rfind("USERNAME", 0) == 0);
    CHECK(g.out.find("jdoe") != std::string::npos);
}

TEST_CASE("fedora CLI: exit codes of failures")
{
    auto none = run(admin, "--emulator fas person nobody-at-all");
    CHECK(none.code == exit_not_found);
    CHECK(none.err.find("nobody-at-all") != std::string::npos);

    auto group = run(admin, "--emulator fas group no-such-group");
    CHECK(group.code == exit_not_found);

    auto anonymous = run("", "--emulator fas person jdoe");
    CHECK(anonymous.code == exit_auth);
    CHECK(anonymous.err.find("FEDORA_USERNAME") != std::string::npos);

    auto wrong = run("FEDORA_USERNAME=jdoe FEDORA_PASSWORD=wrong", "--emulator fas person jdoe");
    CHECK(wrong.code == exit_auth);
    CHECK(wrong.out.empty());

    auto session = run("FEDORA_SESSION_ID=0123456789abcdef", "--emulator fas verify-session");
    CHECK(session.code == exit_auth);
    CHECK(session.out == "false\n");

    auto good = run("FEDORA_USERNAME=jdoe FEDORA_PASSWORD=jdoe-pass", "--emulator fas verify-password");
    CHECK(good.code == 0);
    CHECK(good.out == "true\n");

    auto usage = run(admin, "--emulator fas person");
    CHECK(usage.code == exit_usage);
    CHECK(run(admin, "fas person jdoe --no-such-option").code == exit_usage);

    // Nothing listens on port 1.
    auto network = run(admin, "--timeout 5s --url https://127.0.0.1:1/accounts/ fas person jdoe");
    CHECK(network.code == exit_network);

    auto unsupported = run("FEDORA_USERNAME=alice FEDORA_PASSWORD=alice-pass", "--emulator bodhi delete FEDORA-2015-1");
    CHECK(unsupported.code == exit_not_supported);
    CHECK(unsupported.err.find("not supported by Bodhi 2") != std::string::npos);
}

TEST_CASE("fedora CLI: Bodhi 1 and Bodhi 2 through one command set")
{
    auto v2 = run("", "--emulator --json bodhi version");
    CHECK(v2.code == 0);
    CHECK(boost::json::parse(v2.out).at("version") == 2);
    auto v1 = run("", "--emulator --url /updates/ --json bodhi version");
    CHECK(v1.code == 0);
    CHECK(boost::json::parse(v1.out).at("version") == 1);

    for (std::string url : {"/updates/", "/bodhi2/"}) {
        CAPTURE(url);
        auto q = run("", "--emulator --url " + url + " --json bodhi updates --status testing --rows 5");
        REQUIRE_MESSAGE(q.code == 0, q.err);
        auto page = boost::json::parse(q.out).as_object();
        CHECK(page.at("rows").as_array().size() == 5);
        for (const auto& u : page.at("rows").as_array())
            CHECK(u.at("status") == "testing");

        auto table = run("", "--emulator --url " + url + " bodhi updates --package python-fedora --status testing");
        CHECK(table.code == 0);
        CHECK(table.out.rfind("KEY", 0) == 0);

        const std::string key(page.at("rows").as_array()[0].at("key").as_string());
        auto c = run("FEDORA_USERNAME=dave FEDORA_PASSWORD=dave-pass",
                     "--emulator --url " + url + " --json bodhi comment " + key + " 'works here' --karma 1");
        CHECK_MESSAGE(c.code == 0, c.err);
        auto comment = boost::json::parse(c.out);
        CHECK(comment.at("comment").at("author") == "dave");
        CHECK(comment.at("comment").at("text") == "works here");
    }
}

TEST_CASE("fedora CLI: help, and the demo")
{
    auto h = run("", "--help");
    CHECK(h.code == 0);
    CHECK(h.out.find("exit codes") != std::string::npos);
    auto ch = run("", "bodhi updates --help");
    CHECK(ch.code == 0);
    CHECK(ch.out.find("--status") != std::string::npos);

    auto d = run("", "demo --people 500");
    CHECK_MESSAGE(d.code == 0, d.out << d.err);
    CHECK(d.out.find("demo OK") != std::string::npos);
    CHECK(d.out.find("Bodhi 1") != std::string::npos);
    CHECK(d.out.find("Bodhi 2") != std::string::npos);
    CHECK(d.out.find("user_data dump") != std::string::npos);
}
