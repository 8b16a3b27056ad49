// Bad-input sweep over the Bodhi 1, Bodhi 2 and OpenID applications: thousands of
// deterministic junk requests; handle() must never throw, never answer 5xx, and Bodhi 2's
// JSON errors must always be Cornice bodies.
#include "emulator_bodhi_support.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include <array>
#include <atomic>
#include <thread>

using namespace bodhi_test;

namespace {

struct rng
{
    std::uint64_t x;
    std::uint64_t next()
    {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    template <class C>
    const auto& pick(const C& c) { return c[below(std::size(c))]; }
};

const std::array<const char*, 7> methods_list{"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"};

const std::vector<std::string> paths{
    "", "/", "/api_version", "/csrf", "/login", "/logout", "/dologin.html", "/updates", "/updates/",
    "/updates/FEDORA-2015-0000000000", "/updates/foo", "/updates/foo/request", "/updates/%zz/request",
    "/updates/a%2Fb/request", "/comments/", "/comments/1", "/comments/-1", "/comments/99999999999999999999",
    "/overrides/", "/overrides/foo-1-1.fc22", "/releases/", "/releases/F22", "/releases/%00", "/builds/",
    "/builds/x", "/packages/", "/users/", "/users/alice", "/latest_builds", "/latest_candidates",
    "/list", "/save", "/request", "/comment", "/delete", "/mine", "/critpath", "/candidate_tags",
    "/latest_builds", "/releases", "/dist_tags", "/get_updates_from_builds", "/user/alice", "/user/",
    "/override/list", "/override/save", "/override/save_edit_cli", "/override/expire", "/override/x/y",
    "/openid/", "/openid", "/api/v1/", "/api/v1", "/login", "//", "/%", "/%%", "/a/b/c/d/e/f",
    "/updates/" + std::string(3000, 'x'), "/..", "/./updates/", "/updates//request"};

const std::vector<std::string> keys{
    "page", "rows_per_page", "updates_tgp_limit", "updates_tgp_no", "overrides_tgp_limit", "builds", "type", "type_",
    "bugs", "notes", "request", "action", "karma", "karma_critpath", "email", "update", "title", "nvr",
    "expiration_date", "expiration", "edited", "expired", "csrf_token", "_csrf_token", "releases", "release", "user",
    "username", "status", "since", "submitted_since", "pushed_before", "like", "package", "packages", "mine", "login",
    "user_name", "password", "openid", "openid.mode", "openid.return_to", "openid.sig", "openid.signed",
    "openid.op_endpoint", "openid.realm", "janrain_nonce", "callback", "tg_format", "bug_feedback.0.bug_id",
    "bug_feedback.0.karma", "testcase_feedback.1.testcase_name", "name", "state", "stable_karma", "unstable_karma",
    "count_only", "came_from", "transaction", "show_expired", "build", "updates", "anonymous", "critpath", "severity",
    "suggest", "autokarma", "version", "dist_tag", "long_name", "update_owner", "testing", "untested", "cves"};

std::vector<std::string> values(const std::string& alias)
{
    return {"", "0", "-1", "1", "2", "101", "99999999999999999999", "-99999999999999999999", "abc", "%", "true",
            "False", "testing", "stable", "none", "obsolete", "unpush", "revoke", "F22", "F99", "EL-7", "alice",
            "ghost", "2015-09-15", "2015-99-99", "2015-09-15 12:00:00", std::string(5000, 'a'), "foo-1-1.fc22",
            "foo-9.0-1.fc22", "kernel", "a,b,,c", " ", std::string("\0\xff", 2), "\xc3\xa9", "<script>", alias,
            "foo-9.0-1.fc22 bar-9.0-1.fc22", "id_res", "checkid_setup", "http://127.0.0.1:8080/bodhi/dologin.html",
            "json", "Login", "alice-pass", "bugfix", "security", "09/20/2015", "13/45/2015", "x@y.z", "@", "F%"};
}

std::string junk_json(rng& r, const std::string& alias, int depth = 0)
{
    auto vals = values(alias);
    switch (r.below(depth > 3 ? 6 : 9)) {
    case 0: return "\"" + std::string(r.pick(vals).c_str()) + "\"";
    case 1: return std::to_string(static_cast<long long>(r.next() % 2000) - 1000);
    case 2: return "18446744073709551615";
    case 3: return "1e400";
    case 4: return r.below(2) ? "true" : "null";
    case 5: return "-0.5";
    case 6: {
        std::string out = "[";
        for (std::size_t i = 0, n = r.below(4); i < n; ++i)
            out += (i ? "," : "") + junk_json(r, alias, depth + 1);
        return out + "]";
    }
    default: {
        std::string out = "{";
        for (std::size_t i = 0, n = r.below(5); i < n; ++i)
            out += std::string(i ? "," : "") + "\"" + r.pick(keys) + "\":" + junk_json(r, alias, depth + 1);
        return out + "}";
    }
    }
}

std::string junk_form(rng& r, const std::vector<std::string>& vals)
{
    std::string out;
    for (std::size_t i = 0, n = r.below(8); i < n; ++i) {
        if (!out.empty())
            out += '&';
        switch (r.below(40)) {
        case 0: out += "%zz=%"; break;  // malformed escapes: rare, or nothing gets past parsing
        case 1: out += "=&&="; break;
        case 2:
        case 3: out += r.pick(keys); break; // no '='
        default: out += enc(r.pick(keys)) + "=" + enc(r.pick(vals));
        }
    }
    return out;
}

} // namespace

TEST_CASE("bodhi emulator: bad-input sweep never throws and never answers 5xx")
{
    auto data = make_data(40, 0);
    auto b1 = std::make_shared<bodhi1_application>(data);
    auto b2 = std::make_shared<bodhi2_application>(data);
    auto provider = std::make_shared<openid_provider_application>(data);
    struct mount
    {
        std::string prefix;
        application* app;
    };
    std::array<mount, 3> mounts{mount{"/updates", b1.get()}, mount{"/bodhi", b2.get()}, mount{"/id", provider.get()}};
    std::string alias = data->read([](const bodhi_state& s) { return s.updates()[2].alias; });
    auto vals = values(alias);

    // Live sessions so that deeper code paths (past authentication and CSRF) are reached too.
    browser br;
    br.mount("/updates", b1);
    br.mount("/bodhi", b2);
    br.mount("/id", provider);
    br.post("/updates/login", {{"user_name", "alice"}, {"password", "alice-pass"}, {"login", "Login"}});
    std::string visit = br.jar["tg-visit"];
    auto r0 = br.get("/bodhi/login");
    r0 = br.get(header(r0, http::field::location));
    fields f = query_fields(header(r0, http::field::location));
    f.emplace_back("username", "alice");
    f.emplace_back("password", "alice-pass");
    auto assertion = body_json(br.post("/id/api/v1/", f));
    fields back;
    for (const auto& [k, v] : assertion.at("response").as_object())
        back.emplace_back(std::string(k), std::string(v.as_string()));
    br.post(std::string(assertion.at("response").at("openid.return_to").as_string()), back);
    std::string csrf(body_json(br.get("/bodhi/csrf")).at("csrf_token").as_string());
    REQUIRE(br.jar.count("auth_tkt") == 1);
    std::string cookies = "tg-visit=" + visit + "; session=" + br.jar["session"] + "; auth_tkt=" + br.jar["auth_tkt"];

    rng r{20150915};
    std::size_t answered = 0;
    std::map<std::string, std::size_t> seen;
    for (int i = 0; i < 6000; ++i) {
        const auto& m = mounts[r.below(mounts.size())];
        std::string path = m.prefix + r.pick(paths);
        std::string query = r.below(3) ? junk_form(r, vals) : "";
        if (r.below(4) == 0 && m.prefix == "/updates")
            query += "&_csrf_token=" + (r.below(2) ? sha1hex(visit) : std::string("x"));
        http_request req{http::string_to_verb(r.pick(methods_list)), path + (query.empty() ? "" : "?" + query), 11};
        std::string body;
        switch (r.below(6)) {
        case 0: break;
        case 1:
            body = junk_json(r, alias);
            req.set(http::field::content_type, "application/json");
            break;
        case 2: {
            // A plausible write with valid credentials and junk fields.
            std::string form = junk_form(r, vals);
            body = form + "&csrf_token=" + csrf + "&_csrf_token=" + sha1hex(visit);
            req.set(http::field::content_type, "application/x-www-form-urlencoded");
            break;
        }
        case 3:
            body = std::string(r.below(2000), static_cast<char>(r.below(256)));
            req.set(http::field::content_type, r.below(2) ? "multipart/form-data; boundary=x" : "text/plain");
            break;
        default:
            body = junk_form(r, vals);
            if (r.below(2))
                req.set(http::field::content_type, "application/x-www-form-urlencoded");
        }
        if (r.below(3))
            req.set(http::field::cookie, r.below(4) ? cookies : "tg-visit=; session=\"\"; auth_tkt=%; =x; ;;");
        if (r.below(4) == 0)
            req.set(http::field::accept, r.pick(std::array<const char*, 5>{"application/json", "text/html",
                                                                          "application/javascript", "*/*", "\x01"}));
        if (r.below(10) == 0)
            req.set(http::field::authorization, r.below(2) ? "Basic !!!!" : "Basic YWxpY2U6YWxpY2UtcGFzcw==");
        req.body() = body;
        req.prepare_payload();

        std::string target_path = path;
        request_context ctx{target_path.substr(m.prefix.size()), query, origin, false};
        http_response res;
        CHECK_NOTHROW(res = m.app->handle(req, ctx));
        INFO("request ", i, ": ", req.method_string(), " ", req.target(), " body ", body.substr(0, 200));
        CHECK(res.result_int() >= 200);
        CHECK(res.result_int() < 500);
        if (m.prefix == "/bodhi" && res.result_int() >= 400 && req.method() != http::verb::head
            && header(res, http::field::content_type) == "application/json") {
            auto v = body_json(res);
            REQUIRE(v.is_object());
            CHECK(v.at("status") == "error");
            CHECK(!v.at("errors").as_array().empty());
        }
        ++answered;
        ++seen[m.prefix + " " + std::to_string(res.result_int())];
    }
    CHECK(answered == 6000);
    // The sweep reaches real work, not only the error answers.
    for (const char* key : {"/updates 200", "/updates 403", "/bodhi 200", "/bodhi 400", "/bodhi 404", "/id 200", "/id 400"})
        CHECK_MESSAGE(seen[key] > 10, key);

}

TEST_CASE("bodhi emulator: concurrent requests on shared applications")
{
    auto data = make_data(40, 0);
    auto b1 = std::make_shared<bodhi1_application>(data);
    auto b2 = std::make_shared<bodhi2_application>(data);
    auto provider = std::make_shared<openid_provider_application>(data);
    std::string alias = data->write([](bodhi_state& s) {
        update_save_params p;
        p.builds = {"foo-9.0-1.fc22"};
        p.notes = "shared";
        auto out = s.save_update(p, "alice");
        s.push_requests();
        return s.update(out.ids.front())->alias;
    });
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    const std::array<std::string, 4> users{"bob", "carol", "dave", "admin"};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            browser br;
            br.mount("/updates", b1);
            br.mount("/bodhi", b2);
            br.mount("/id", provider);
            const std::string& user = users[static_cast<std::size_t>(t)];
            auto r = br.get("/bodhi/login");
            r = br.get(header(r, http::field::location));
            fields f = query_fields(header(r, http::field::location));
            f.emplace_back("username", user);
            f.emplace_back("password", user + "-pass");
            auto a = body_json(br.post("/id/api/v1/", f));
            fields back;
            for (const auto& [k, v] : a.at("response").as_object())
                back.emplace_back(std::string(k), std::string(v.as_string()));
            if (br.post(std::string(a.at("response").at("openid.return_to").as_string()), back).result()
                != http::status::found)
                ++failures;
            std::string token(body_json(br.get("/bodhi/csrf")).at("csrf_token").as_string());
            for (int i = 0; i < 60; ++i) {
                auto c = br.post("/bodhi/comments/", {{"update", alias}, {"text", "load"},
                                                      {"karma", i % 2 ? "1" : "-1"}, {"csrf_token", token}});
                auto q = br.get("/bodhi/updates/?rows_per_page=10&page=" + std::to_string(1 + i % 4));
                auto l = br.post("/updates/list", {{"updates_tgp_limit", "5"}}, {{http::field::accept, "application/json"}});
                if (c.result() != http::status::ok || q.result() != http::status::ok || l.result() != http::status::ok)
                    ++failures;
            }
        });
    }
    for (auto& th : threads)
        th.join();
    CHECK(failures == 0);
    data->read([&](const bodhi_state& s) {
        const auto* u = s.find_update(alias);
        auto votes = std::count_if(u->comments.begin(), u->comments.end(),
                                   [&](auto c) { return s.comment(c)->author != "bodhi"; });
        CHECK(votes == 240);
        CHECK(u->karma == 4); // every user's last vote was +1
    });
    CHECK(b2->session_count() == 4);
}
