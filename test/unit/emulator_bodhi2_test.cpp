// The Bodhi 2 application and the OpenID provider, called through handle() directly.
#include "emulator_bodhi_support.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace bodhi_test;

namespace {

struct bodhi2_site
{
    std::shared_ptr<bodhi_data> data;
    std::shared_ptr<bodhi2_application> bodhi;
    std::shared_ptr<openid_provider_application> provider;
    browser br;

    explicit bodhi2_site(std::size_t bulk = 0, bodhi2_params params = {})
        : data(make_data(60, bulk)),
          bodhi(std::make_shared<bodhi2_application>(data, std::move(params))),
          provider(std::make_shared<openid_provider_application>(data))
    {
        br.mount("/bodhi", bodhi);
        br.mount("/id", provider);
    }

    std::string csrf()
    {
        auto r = br.get("/bodhi/csrf", {{http::field::accept, "application/json"}});
        REQUIRE(r.result() == http::status::ok);
        return std::string(body_json(r).at("csrf_token").as_string());
    }

    // The whole python-fedora openid_login dance; returns the final response.
    http_response login(const std::string& user, const std::string& password)
    {
        auto r = br.get("/bodhi/login", {{http::field::accept, "application/json"}});
        REQUIRE(r.result() == http::status::found);
        r = br.get(header(r, http::field::location));
        REQUIRE(r.result() == http::status::found);
        fields f = query_fields(header(r, http::field::location));
        f.emplace_back("username", user);
        f.emplace_back("password", password);
        f.emplace_back("auth_module", "fedoauth.auth.fas.Auth_FAS");
        f.emplace_back("auth_flow", "fedora");
        r = br.post("/id/api/v1/", f);
        REQUIRE(r.result() == http::status::ok);
        auto answer = body_json(r);
        if (!answer.at("success").as_bool())
            return r;
        fields assertion;
        for (const auto& [k, v] : answer.at("response").as_object())
            assertion.emplace_back(std::string(k), std::string(v.as_string()));
        return br.post(std::string(answer.at("response").at("openid.return_to").as_string()), assertion);
    }
};

void check_error(const http_response& r, unsigned status, std::string_view location, std::string_view name,
                 std::string_view description = {})
{
    CHECK(r.result_int() == status);
    CHECK(header(r, http::field::content_type) == "application/json");
    auto v = body_json(r);
    REQUIRE(v.is_object());
    CHECK(v.at("status") == "error");
    bool found = false;
    for (const auto& e : v.at("errors").as_array()) {
        if (e.at("location").as_string() == location && e.at("name").as_string() == name
            && (description.empty() || e.at("description").as_string() == description))
            found = true;
    }
    CHECK_MESSAGE(found, r.body());
}

} // namespace

TEST_CASE("bodhi2: api_version and the csrf session")
{
    bodhi2_site site;
    auto r = site.br.get("/bodhi/api_version");
    CHECK(r.result() == http::status::ok);
    CHECK(body_json(r) == json::parse(R"({"version": "2.0"})"));

    CHECK(site.br.jar.count("session") == 0);
    std::string token = site.csrf();
    CHECK(token.size() == 40);
    CHECK(site.br.jar.count("session") == 1);
    CHECK(site.csrf() == token); // bound to the session
    CHECK(site.bodhi->session_count() == 1);

    // text/html gets the bare token
    r = site.br.get("/bodhi/csrf", {{http::field::accept, "text/html"}});
    CHECK(r.body() == token);

    site.bodhi->rotate_csrf_tokens();
    std::string rotated = site.csrf();
    CHECK(rotated != token);

    site.bodhi->expire_sessions();
    std::string fresh = site.csrf();
    CHECK(fresh != rotated);
}

TEST_CASE("bodhi2: collections redirect to their slash form, unknown paths are 404")
{
    bodhi2_site site;
    auto r = site.br.get("/bodhi/updates?packages=foo&page=2");
    CHECK(r.result() == http::status::found);
    CHECK(header(r, http::field::location) == origin + "/bodhi/updates/?packages=foo&page=2");
    r = site.br.post("/bodhi/releases", {});
    CHECK(r.result() == http::status::found);
    check_error(site.br.get("/bodhi/no/such/thing"), 404, "url", "path");
    check_error(site.br.send(http::verb::delete_, "/bodhi/updates/"), 405, "header", "method");
    r = site.br.send(http::verb::head, "/bodhi/api_version");
    CHECK(r.result() == http::status::ok);
    CHECK(r.body().empty());
}

TEST_CASE("bodhi2: 1,001 updates page by page, no duplicates")
{
    bodhi2_site site(1001);
    std::set<std::string> seen;
    for (int page = 1; page <= 11; ++page) {
        auto r = site.br.get("/bodhi/updates/?packages=bulk-pkg&releases=F22&rows_per_page=100&page=" + std::to_string(page));
        REQUIRE(r.result() == http::status::ok);
        auto v = body_json(r);
        CHECK(v.at("total") == 1001);
        CHECK(v.at("pages") == 11);
        CHECK(v.at("page") == page);
        CHECK(v.at("rows_per_page") == 100);
        const auto& updates = v.at("updates").as_array();
        CHECK(updates.size() == (page < 11 ? 100u : 1u));
        for (const auto& u : updates)
            seen.insert(std::string(u.at("alias").as_string()));
    }
    CHECK(seen.size() == 1001);

    auto past = body_json(site.br.get("/bodhi/updates/?packages=bulk-pkg&rows_per_page=100&page=12"));
    CHECK(past.at("updates").as_array().empty());
    CHECK(past.at("total") == 1001);

    auto first = body_json(site.br.get("/bodhi/updates/?packages=bulk-pkg"));
    CHECK(first.at("rows_per_page") == 20);
    CHECK(first.at("pages") == 51);
    auto none = body_json(site.br.get("/bodhi/updates/?packages=not-a-package"));
    CHECK(none.at("total") == 0);
    CHECK(none.at("pages") == 0);
}

TEST_CASE("bodhi2: query validation errors are cornice bodies")
{
    bodhi2_site site;
    check_error(site.br.get("/bodhi/updates/?rows_per_page=0"), 400, "querystring", "rows_per_page",
                "0 is less than minimum value 1");
    check_error(site.br.get("/bodhi/updates/?rows_per_page=101"), 400, "querystring", "rows_per_page",
                "101 is greater than maximum value 100");
    check_error(site.br.get("/bodhi/updates/?page=0"), 400, "querystring", "page", "0 is less than minimum value 1");
    check_error(site.br.get("/bodhi/updates/?page=abc"), 400, "querystring", "page", "\"abc\" is not a number");
    check_error(site.br.get("/bodhi/updates/?releases=F99"), 400, "querystring", "releases",
                "Invalid releases specified: F99");
    check_error(site.br.get("/bodhi/updates/?user=ghost"), 400, "querystring", "user", "Invalid user specified: ghost");
    check_error(site.br.get("/bodhi/updates/?status=bogus"), 400, "querystring", "status");
    check_error(site.br.get("/bodhi/updates/?submitted_since=yesterday"), 400, "querystring", "submitted_since",
                "Invalid date");
    check_error(site.br.get("/bodhi/updates/?bugs=12,abc"), 400, "querystring", "bugs");
    check_error(site.br.get("/bodhi/updates/?a=%zz"), 400, "querystring", "body");
    // several problems at once are all reported
    auto v = body_json(site.br.get("/bodhi/updates/?rows_per_page=0&page=0"));
    CHECK(v.at("errors").as_array().size() == 2);
}

TEST_CASE("bodhi2: filters")
{
    bodhi2_site site;
    auto all = body_json(site.br.get("/bodhi/updates/?rows_per_page=100"));
    CHECK(all.at("total") == 60);
    for (const char* q : {"status=testing", "type=security", "releases=F22", "releases=f22", "release=Fedora%2022",
                          "user=alice", "critpath=true", "pushed=false", "locked=0", "request=testing",
                          "severity=urgent", "suggest=reboot", "packages=kernel,glibc", "like=python"}) {
        auto r = site.br.get(std::string("/bodhi/updates/?rows_per_page=100&") + q);
        REQUIRE_MESSAGE(r.result() == http::status::ok, q);
        auto v = body_json(r);
        CHECK_MESSAGE(v.at("total").as_int64() <= 60, q);
        for (const auto& u : v.at("updates").as_array()) {
            std::string query(q);
            if (query == "status=testing")
                CHECK(u.at("status") == "testing");
            if (query == "type=security")
                CHECK(u.at("type") == "security");
            if (query.rfind("releases=", 0) == 0 || query.rfind("release=", 0) == 0)
                CHECK(u.at("release").at("name") == "F22");
            if (query == "user=alice")
                CHECK(u.at("user").at("name") == "alice");
            if (query == "critpath=true")
                CHECK(u.at("critpath") == true);
            if (query == "request=testing")
                CHECK(u.at("request") == "testing");
        }
    }
    // Ordered newest first.
    const auto& list = all.at("updates").as_array();
    for (std::size_t i = 1; i < list.size(); ++i)
        CHECK(list[i - 1].at("date_submitted").as_string() >= list[i].at("date_submitted").as_string());
}

TEST_CASE("bodhi2: one update by alias or title; package names redirect")
{
    bodhi2_site site;
    auto [alias, title] = site.data->read([](const bodhi_state& s) {
        return std::pair{s.updates()[3].alias, s.title(s.updates()[3], ' ')};
    });
    auto r = site.br.get("/bodhi/updates/" + alias);
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    CHECK(v.at("update").at("alias").as_string() == alias);
    CHECK(v.at("can_edit") == false);
    CHECK(body_json(site.br.get("/bodhi/updates/" + enc(title))).at("update").at("alias").as_string() == alias);
    r = site.br.get("/bodhi/updates/kernel");
    CHECK(r.result() == http::status::found);
    CHECK(header(r, http::field::location) == origin + "/bodhi/updates/?packages=kernel");
    check_error(site.br.get("/bodhi/updates/FEDORA-2015-nothere"), 404, "url", "id", "Invalid update id");
}

TEST_CASE("bodhi2: the OpenID login, step by step")
{
    bodhi2_site site;
    // 1. Bodhi's login sends us to dologin.html with the provider endpoint.
    auto r = site.br.get("/bodhi/login?came_from=" + enc(origin + "/bodhi/updates/"));
    REQUIRE(r.result() == http::status::found);
    std::string to_dologin = header(r, http::field::location);
    CHECK(to_dologin == origin + "/bodhi/dologin.html?openid=" + enc(origin + "/id/openid/"));
    CHECK(site.br.jar.count("session") == 1);

    // 2. dologin.html starts the OpenID request: a redirect to the provider.
    r = site.br.get(to_dologin);
    REQUIRE(r.result() == http::status::found);
    std::string to_provider = header(r, http::field::location);
    CHECK(to_provider.rfind(origin + "/id/openid/?", 0) == 0);
    CHECK(query_param(to_provider, "openid.mode") == "checkid_setup");
    std::string return_to = query_param(to_provider, "openid.return_to");
    CHECK(return_to.rfind(origin + "/bodhi/dologin.html?janrain_nonce=", 0) == 0);
    CHECK(query_param(to_provider, "openid.realm") == origin + "/bodhi/");

    // 3. The provider's own page: a redirect to its login form (HTML, not JSON).
    r = site.br.get(to_provider);
    REQUIRE(r.result() == http::status::found);
    r = site.br.get(header(r, http::field::location));
    CHECK(r.result() == http::status::ok);
    CHECK(r.body().find("OpenID transaction in progress") != std::string::npos);

    // 4. The provider API: wrong password first.
    fields f = query_fields(to_provider);
    f.emplace_back("username", "alice");
    f.emplace_back("password", "wrong");
    f.emplace_back("auth_module", "fedoauth.auth.fas.Auth_FAS");
    f.emplace_back("auth_flow", "fedora");
    r = site.br.post("/id/api/v1/", f);
    CHECK(r.result() == http::status::ok);
    CHECK(body_json(r) == json::parse(R"({"success": false, "message": "Authentication failed"})"));
    f[f.size() - 3].second = "alice-pass";
    r = site.br.post("/id/api/v1/", f);
    REQUIRE(r.result() == http::status::ok);
    auto answer = body_json(r);
    REQUIRE(answer.at("success") == true);
    const auto& response = answer.at("response").as_object();
    CHECK(response.at("openid.mode") == "id_res");
    CHECK(response.at("openid.op_endpoint").as_string() == origin + "/id/openid/");
    CHECK(response.at("openid.return_to").as_string() == return_to);
    CHECK(response.at("openid.claimed_id") == "http://alice.id.fedoraproject.org/");
    fields assertion;
    for (const auto& [k, v] : response)
        assertion.emplace_back(std::string(k), std::string(v.as_string()));

    SUBCASE("a tampered assertion is refused")
    {
        for (auto& [k, v] : assertion)
            if (k == "openid.sreg.nickname")
                v = "admin";
        r = site.br.post(return_to, assertion);
        CHECK(r.result() == http::status::forbidden);
        CHECK(site.br.jar.count("auth_tkt") == 0);
    }
    SUBCASE("another provider is refused")
    {
        site.bodhi->set_openid_endpoint("https://id.example.org/openid/");
        r = site.br.post(return_to, assertion);
        CHECK(r.result() == http::status::forbidden);
    }
    SUBCASE("5. posting the assertion back logs in; it cannot be replayed")
    {
        r = site.br.post(return_to, assertion);
        REQUIRE(r.result() == http::status::found);
        CHECK(header(r, http::field::location) == origin + "/bodhi/updates/");
        REQUIRE(site.br.jar.count("auth_tkt") == 1);
        auto home = site.br.get("/bodhi/");
        CHECK(home.body().find("Logged in as alice") != std::string::npos);
        r = site.br.post(return_to, assertion);
        CHECK(r.result() == http::status::bad_request);

        // Logged in: can_edit reflects the user; logout forgets the ticket.
        auto mine = site.data->read([](const bodhi_state& s) {
            update_filter uf;
            uf.user = "alice";
            return s.update(s.query_updates(uf).front())->alias;
        });
        CHECK(body_json(site.br.get("/bodhi/updates/" + mine)).at("can_edit") == true);
        r = site.br.get("/bodhi/logout");
        CHECK(r.result() == http::status::found);
        CHECK(site.br.jar.count("auth_tkt") == 0);
        CHECK(body_json(site.br.get("/bodhi/updates/" + mine)).at("can_edit") == false);
    }
}

TEST_CASE("bodhi2: the browser form of the provider redirects back with the assertion")
{
    bodhi2_site site;
    auto r = site.br.get("/bodhi/login");
    r = site.br.get(header(r, http::field::location));
    r = site.br.get(header(r, http::field::location));               // provider endpoint
    std::string login_form = header(r, http::field::location);
    std::string transaction = query_param(login_form, "transaction");
    r = site.br.post("/id/openid/", {{"transaction", transaction}, {"username", "bob"}, {"password", "nope"}});
    CHECK(r.result() == http::status::unauthorized);
    r = site.br.post("/id/openid/", {{"transaction", transaction}, {"username", "bob"}, {"password", "bob-pass"}});
    REQUIRE(r.result() == http::status::found);
    r = site.br.get(header(r, http::field::location)); // GET dologin.html?janrain_nonce=...&openid.mode=id_res...
    CHECK(r.result() == http::status::found);
    CHECK(site.br.jar.count("auth_tkt") == 1);
}

TEST_CASE("bodhi2: provider API errors")
{
    bodhi2_site site;
    auto r = site.br.post("/id/api/v1/", {{"username", "alice"}, {"password", "alice-pass"}});
    CHECK(r.result() == http::status::bad_request);
    CHECK(body_json(r).at("success") == false);
    r = site.br.post("/id/api/v1/", {{"openid.mode", "associate"}, {"openid.return_to", "http://x/"}});
    CHECK(r.result() == http::status::bad_request);
    r = site.br.post("/id/api/v1/", {{"openid.return_to", "http://evil.example/"}, {"openid.realm", "http://good.example/"},
                                     {"username", "alice"}, {"password", "alice-pass"}});
    CHECK(r.result() == http::status::bad_request);
    r = site.br.post("/id/api/v1/", {{"openid.return_to", "http://x/"}, {"username", "bodhi"}, {"password", ""}});
    CHECK(body_json(r).at("success") == false);
    CHECK(site.br.get("/id/api/v1/").result() == http::status::method_not_allowed);
    CHECK(site.br.get("/id/nothing").result() == http::status::not_found);
    // dologin without a live transaction
    r = site.br.post("/bodhi/dologin.html?janrain_nonce=forged", {{"openid.mode", "id_res"}});
    CHECK(r.result() == http::status::bad_request);
    r = site.br.get("/bodhi/dologin.html?openid=" + enc("https://other.example/openid/"));
    CHECK(r.result() == http::status::bad_request);
}

TEST_CASE("bodhi2: writes need login and a matching csrf_token")
{
    bodhi2_site site;
    fields update{{"builds", "foo-9.0-1.fc22"}, {"type", "bugfix"}, {"notes", "Fix crash"}, {"request", "testing"}};

    // Anonymous: refused before anything else.
    check_error(site.br.post("/bodhi/updates/", update), 403, "cookies", "auth_tkt");

    REQUIRE(site.login("alice", "alice-pass").result() == http::status::found);
    check_error(site.br.post("/bodhi/updates/", update), 400, "body", "csrf_token", "Required");
    auto bad = update;
    bad.emplace_back("csrf_token", "0123456789abcdef0123456789abcdef01234567");
    check_error(site.br.post("/bodhi/updates/", bad), 400, "body", "csrf_token", "CSRF tokens do not match");

    std::string token = site.csrf();
    auto good = update;
    good.emplace_back("csrf_token", token);

    SUBCASE("rotation: the cached token stops matching, a refetched one works")
    {
        site.bodhi->rotate_csrf_tokens();
        check_error(site.br.post("/bodhi/updates/", good), 400, "body", "csrf_token", "CSRF tokens do not match");
        good.back().second = site.csrf();
        CHECK(site.br.post("/bodhi/updates/", good).result() == http::status::ok);
    }
    SUBCASE("a form body creates the update")
    {
        auto r = site.br.post("/bodhi/updates/", good);
        REQUIRE(r.result() == http::status::ok);
        auto v = body_json(r);
        CHECK(v.at("title") == "foo-9.0-1.fc22");
        CHECK(v.at("status") == "pending");
        CHECK(v.at("request") == "testing");
        CHECK(v.at("user").at("name") == "alice");
        CHECK(v.at("caveats").as_array().empty());
        CHECK(std::string(v.at("alias").as_string()).rfind("FEDORA-2015-", 0) == 0);
        // the same build again
        check_error(site.br.post("/bodhi/updates/", good), 400, "body", "builds", "Update for foo-9.0-1.fc22 already exists");
    }
    SUBCASE("a JSON body works too, and builds over two releases give two updates")
    {
        json::object body{{"builds", json::array{"foo-9.0-1.fc22", "foo-9.0-1.fc21"}}, {"type", "enhancement"},
                          {"notes", "Two releases"}, {"autokarma", true}, {"stable_karma", 2},
                          {"csrf_token", token}};
        auto r = site.br.post_json("/bodhi/updates/", body);
        REQUIRE(r.result() == http::status::ok);
        auto v = body_json(r);
        REQUIRE(v.at("updates").as_array().size() == 2);
        CHECK(v.at("updates").at(0).at("stable_karma") == 2);
    }
    SUBCASE("schema errors")
    {
        auto r = site.br.post("/bodhi/updates/", {{"csrf_token", token}, {"type", "fix"}, {"notes", "x"},
                                                  {"stable_karma", "0"}, {"unstable_karma", "0"}});
        check_error(r, 400, "body", "builds", "Required");
        check_error(r, 400, "body", "type", "\"fix\" is not one of bugfix, security, newpackage, enhancement");
        check_error(r, 400, "body", "notes", "Shorter than minimum length 2");
        check_error(r, 400, "body", "stable_karma", "0 is less than minimum value 1");
        check_error(r, 400, "body", "unstable_karma", "0 is greater than maximum value -1");
        check_error(site.br.post("/bodhi/updates/", {{"csrf_token", token}, {"builds", "glibc-3-1.fc22"},
                                                     {"type", "bugfix"}, {"notes", "mine now"}}),
                    403, "body", "builds", "alice does not have commit access to glibc");
    }
}

TEST_CASE("bodhi2: anonymous writes may be answered with the login redirect")
{
    bodhi2_params p;
    p.anonymous_writes = anonymous_write_answer::login_redirect;
    bodhi2_site site(0, p);
    auto r = site.br.post("/bodhi/updates/", {{"builds", "foo-1-1.fc22"}});
    CHECK(r.result() == http::status::found);
    CHECK(header(r, http::field::location).rfind(origin + "/bodhi/login?came_from=", 0) == 0);
}

TEST_CASE("bodhi2: requests")
{
    bodhi2_site site;
    site.login("alice", "alice-pass");
    std::string token = site.csrf();
    auto r = site.br.post("/bodhi/updates/", {{"builds", "foo-9.0-1.fc22"}, {"type", "bugfix"}, {"notes", "Fix crash"},
                                              {"csrf_token", token}});
    REQUIRE(r.result() == http::status::ok);
    std::string alias(body_json(r).at("alias").as_string());
    site.data->push_requests();

    r = site.br.post("/bodhi/updates/" + alias + "/request", {{"request", "stable"}, {"csrf_token", token}});
    check_error(r, 400, "body", "request");
    CHECK(body_json(r).at("errors").at(0).at("description").as_string().find("minimum testing requirements")
          != std::string::npos);
    check_error(site.br.post("/bodhi/updates/" + alias + "/request", {{"request", "sideways"}, {"csrf_token", token}}),
                400, "body", "request", "\"sideways\" is not one of testing, stable, obsolete, unpush, revoke");
    check_error(site.br.post("/bodhi/updates/" + alias + "/request", {{"csrf_token", token}}), 400, "body", "request",
                "Required");
    check_error(site.br.post("/bodhi/updates/FEDORA-2015-0000000000/request", {{"request", "stable"}, {"csrf_token", token}}),
                404, "url", "id", "Invalid update id");
    r = site.br.post("/bodhi/updates/foo/request", {{"request", "stable"}, {"csrf_token", token}});
    CHECK(r.result() == http::status::found); // quirk 9: a package name

    site.data->advance_clock(8 * 86400);
    r = site.br.post("/bodhi/updates/" + alias + "/request", {{"request", "stable"}, {"csrf_token", token}});
    REQUIRE(r.result() == http::status::ok);
    CHECK(body_json(r).at("update").at("request") == "stable");

    // Another user: no commit access to foo.
    site.br.jar.clear();
    site.login("bob", "bob-pass");
    token = site.csrf();
    check_error(site.br.post("/bodhi/updates/" + alias + "/request", {{"request", "revoke"}, {"csrf_token", token}}),
                403, "body", "request", "bob does not have commit access to foo");
}

TEST_CASE("bodhi2: comments and karma over HTTP")
{
    bodhi2_site site;
    site.login("alice", "alice-pass");
    std::string token = site.csrf();
    auto r = site.br.post("/bodhi/updates/", {{"builds", "foo-9.0-1.fc22"}, {"type", "bugfix"}, {"notes", "Fix crash"},
                                              {"bugs", "123456"}, {"csrf_token", token}});
    std::string alias(body_json(r).at("alias").as_string());
    site.data->push_requests();

    // The submitter's own karma: stored as 0, with a caveat.
    r = site.br.post("/bodhi/comments/", {{"update", alias}, {"text", "mine"}, {"karma", "1"}, {"csrf_token", token}});
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    CHECK(v.at("comment").at("karma") == 0);
    CHECK(v.at("comment").at("author") == "alice");
    CHECK(v.at("comment").at("update").at("karma") == 0);
    CHECK(v.at("caveats") == json::parse(R"([{"name": "karma", "description": "You may not give karma to your own updates."}])"));

    // Anonymous commenter: needs an e-mail address; karma not counted.
    site.br.jar.erase("auth_tkt");
    check_error(site.br.post("/bodhi/comments/", {{"update", alias}, {"text", "hi"}, {"csrf_token", token}}), 400,
                "body", "email", "You must provide an author");
    check_error(site.br.post("/bodhi/comments/", {{"update", alias}, {"email", "not-an-address"}, {"csrf_token", token}}),
                400, "body", "email", "Invalid email address");
    r = site.br.post("/bodhi/comments/", {{"update", alias}, {"text", "works"}, {"karma", "1"},
                                          {"email", "fan@example.com"}, {"csrf_token", token}});
    REQUIRE(r.result() == http::status::ok);
    v = body_json(r);
    CHECK(v.at("comment").at("anonymous") == true);
    CHECK(v.at("comment").at("update").at("karma") == 0);

    // A JSON body with bug feedback, from bob.
    site.login("bob", "bob-pass");
    json::object body{{"update", alias}, {"text", "Works for me"}, {"karma", 1}, {"csrf_token", token},
                      {"bug_feedback", json::array{json::object{{"bug_id", 123456}, {"karma", 1}}}}};
    r = site.br.post_json("/bodhi/comments/", body);
    REQUIRE(r.result() == http::status::ok);
    v = body_json(r);
    CHECK(v.at("comment").at("update").at("karma") == 1);
    CHECK(v.at("comment").at("bug_feedback").at(0).at("bug_id") == 123456);
    check_error(site.br.post("/bodhi/comments/", {{"update", alias}, {"karma", "2"}, {"csrf_token", token}}), 400,
                "body", "karma", "2 is greater than maximum value 1");
    check_error(site.br.post("/bodhi/comments/", {{"update", "nope-1-1.fc22"}, {"csrf_token", token}}), 404, "body",
                "update", "Invalid update specified: nope-1-1.fc22");
    check_error(site.br.post("/bodhi/comments/", {{"update", alias}, {"bug_feedback.0.bug_id", "999"},
                                                  {"bug_feedback.0.karma", "1"}, {"csrf_token", token}}),
                400, "body", "bug_feedback", "Invalid bug ID specified: 999");

    // Listing
    v = body_json(site.br.get("/bodhi/comments/?updates=" + alias + "&rows_per_page=2"));
    CHECK(v.at("total").as_int64() >= 4);
    CHECK(v.at("comments").as_array().size() == 2);
    CHECK(v.at("comments").at(0).at("update_title") == "foo-9.0-1.fc22");
    auto id = v.at("comments").at(0).at("id").as_int64();
    CHECK(body_json(site.br.get("/bodhi/comments/" + std::to_string(id))).at("comment").at("id") == id);
    check_error(site.br.get("/bodhi/comments/99999999"), 404, "url", "id");
    check_error(site.br.get("/bodhi/comments/?user=ghost"), 400, "querystring", "user");
    check_error(site.br.get("/bodhi/comments/?updates=ghost"), 400, "querystring", "updates");
}

TEST_CASE("bodhi2: buildroot overrides")
{
    bodhi2_site site;
    site.login("alice", "alice-pass");
    std::string token = site.csrf();
    std::string expiration = format_bodhi_time(start + 7 * 86400);
    json::object body{{"nvr", "foo-7.0-1.fc22"}, {"notes", "needed for bar"}, {"expiration_date", expiration},
                      {"csrf_token", token}};
    auto r = site.br.post_json("/bodhi/overrides/", body);
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    CHECK(v.at("nvr") == "foo-7.0-1.fc22");
    CHECK(v.at("expired_date").is_null());
    CHECK(v.at("submitter").at("name") == "alice");
    check_error(site.br.post_json("/bodhi/overrides/", body), 400, "body", "nvr",
                "Buildroot override for foo-7.0-1.fc22 already exists");

    v = body_json(site.br.get("/bodhi/overrides/foo-7.0-1.fc22"));
    CHECK(v.at("override").at("notes") == "needed for bar");
    v = body_json(site.br.get("/bodhi/overrides/?user=alice&expired=false&rows_per_page=100"));
    bool listed = false;
    for (const auto& o : v.at("overrides").as_array())
        listed = listed || o.at("nvr") == "foo-7.0-1.fc22";
    CHECK(listed);

    // Expire: the full edit payload plus expired=true; doing it again re-enables (quirk 10).
    body["edited"] = "foo-7.0-1.fc22";
    body["expired"] = true;
    v = body_json(site.br.post_json("/bodhi/overrides/", body));
    CHECK(!v.at("expired_date").is_null());
    v = body_json(site.br.post_json("/bodhi/overrides/", body));
    CHECK(v.at("expired_date").is_null());

    body.erase("edited");
    body.erase("expired");
    body["nvr"] = "bar-7.0-1.fc22";
    body["expiration_date"] = format_bodhi_time(start + 40 * 86400);
    check_error(site.br.post_json("/bodhi/overrides/", body), 400, "body", "expiration_date",
                "Expiration date may not be longer than 31");
    body["expiration_date"] = "soon";
    check_error(site.br.post_json("/bodhi/overrides/", body), 400, "body", "expiration_date", "Invalid date");
    check_error(site.br.get("/bodhi/overrides/nope-1-1.fc22"), 404, "url", "nvr", "No such build");
    check_error(site.br.get("/bodhi/overrides/?releases=F99"), 400, "querystring", "releases");
}

TEST_CASE("bodhi2: releases, builds, packages, users, latest builds")
{
    bodhi2_site site;
    auto v = body_json(site.br.get("/bodhi/releases/?rows_per_page=100"));
    CHECK(v.at("total") == 5);
    CHECK(v.at("releases").at(0).at("name") == "EPEL-6");
    CHECK(v.at("releases").at(0).at("candidate_tag") == "el6-testing-candidate");
    v = body_json(site.br.get("/bodhi/releases/?name=F%25"));
    CHECK(v.at("total") == 3);
    v = body_json(site.br.get("/bodhi/releases/F22"));
    CHECK(v.at("stable_tag") == "f22-updates");
    CHECK(v.at("state") == "current");
    check_error(site.br.get("/bodhi/releases/F99"), 404, "url", "name");

    // POST releases/ is the admin create (python-fedora 0.6's get_releases hit it by mistake).
    site.login("alice", "alice-pass");
    std::string token = site.csrf();
    check_error(site.br.post("/bodhi/releases/", {}), 400, "body", "csrf_token", "Required");
    check_error(site.br.post("/bodhi/releases/", {{"csrf_token", token}, {"name", "F24"}, {"long_name", "Fedora 24"},
                                                  {"version", "24"}, {"dist_tag", "f24"}}),
                403, "body", "user");
    site.login("admin", "admin-pass");
    auto r = site.br.post("/bodhi/releases/", {{"csrf_token", token}, {"name", "F24"}, {"long_name", "Fedora 24"},
                                               {"version", "24"}, {"dist_tag", "f24"}, {"id_prefix", "FEDORA"},
                                               {"state", "pending"}});
    REQUIRE(r.result() == http::status::ok);
    CHECK(body_json(r).at("testing_tag") == "f24-updates-testing");

    v = body_json(site.br.get("/bodhi/builds/?packages=kernel"));
    CHECK(v.at("total").as_int64() >= 1);
    std::string nvr(v.at("builds").at(0).at("nvr").as_string());
    CHECK(body_json(site.br.get("/bodhi/builds/" + nvr)).at("nvr").as_string() == nvr);
    check_error(site.br.get("/bodhi/builds/nope-1-1.fc22"), 404, "url", "nvr");
    v = body_json(site.br.get("/bodhi/packages/?like=python"));
    for (const auto& p : v.at("packages").as_array())
        CHECK(std::string(p.at("name").as_string()).find("python") != std::string::npos);
    CHECK(body_json(site.br.get("/bodhi/packages/?name=kernel")).at("total") == 1);
    v = body_json(site.br.get("/bodhi/users/alice"));
    CHECK(v.at("user").at("name") == "alice");
    CHECK(v.at("user").at("groups").at(0).at("name") == "packager");
    check_error(site.br.get("/bodhi/users/ghost"), 404, "url", "name");
    CHECK(body_json(site.br.get("/bodhi/users/?like=tester")).at("total") == 12);

    v = body_json(site.br.get("/bodhi/latest_builds?package=kernel"));
    CHECK(v.is_object());
    CHECK(!v.as_object().empty());
    for (const auto& [tag, value] : v.as_object())
        CHECK(std::string(value.as_string()).rfind("kernel-", 0) == 0);
    CHECK(body_json(site.br.post("/bodhi/latest_builds?package=kernel", {})) == v);
    CHECK(body_json(site.br.get("/bodhi/latest_builds?package=nothing")).as_object().empty());
    CHECK(body_json(site.br.get("/bodhi/latest_candidates?package=kernel&testing=true")).is_array());
}

TEST_CASE("bodhi2: content negotiation")
{
    bodhi2_site site;
    auto r = site.br.get("/bodhi/releases/F22", {{http::field::accept, "text/html"}});
    CHECK(header(r, http::field::content_type).rfind("text/html", 0) == 0);
    r = site.br.get("/bodhi/releases/F22?callback=cb", {{http::field::accept, "application/javascript"}});
    CHECK(r.body().rfind("cb(", 0) == 0);
    r = site.br.get("/bodhi/releases/F22", {{http::field::accept, "*/*"}});
    CHECK(body_json(r).at("name") == "F22");
}
