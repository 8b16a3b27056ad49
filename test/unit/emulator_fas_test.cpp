// FAS emulator: directory, passwords, login, sessions, the CSRF rule and privacy levels.
// Calls fas_application::handle() directly; no sockets.
#include "emulator_fas_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <thread>

using namespace fas_test;

TEST_SUITE_BEGIN("emulator.fas");

TEST_CASE("MD5-crypt matches glibc crypt()")
{
    // Vectors from Python's crypt.crypt() / `openssl passwd -1`.
    CHECK(fas_crypt_md5("password", "saltsalt") == "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/");
    CHECK(fas_crypt_md5("password", "$1$saltsalt$ignored") == "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/");
    CHECK(fas_crypt_md5("admin", "admin") == "$1$admin$1kgWpnZpUx.vTroWPXPIB0");
    CHECK(fas_crypt_md5("", "x") == "$1$x$fwjfZtMwarkdetsjiQreU1");
    CHECK(fas_crypt_md5(std::string(40, 'a'), "123456789") == "$1$12345678$beiWYJUUHF.ZVo9A4ag9w0");
    CHECK(fas_verify_password("jdoe-pass", "$1$jdoe$1Z1oKZc28M8QBfGNvbr6X/"));
    CHECK_FALSE(fas_verify_password("jdoe-pasS", "$1$jdoe$1Z1oKZc28M8QBfGNvbr6X/"));
    CHECK_FALSE(fas_verify_password("", "$1$x$fwjfZtMwarkdetsjiQreU1")); // empty never matches
    CHECK_FALSE(fas_verify_password("x", ""));
    CHECK_FALSE(fas_verify_password("x", "plain-text"));
    CHECK(fas_csrf_token("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST_CASE("time format is Python's str(datetime) with +00:00")
{
    auto t = parse_fas_time("2008-03-04 21:55:30.873744+00:00");
    REQUIRE(t);
    CHECK(format_fas_time(*t) == "2008-03-04 21:55:30.873744+00:00");
    auto whole = parse_fas_time("2008-03-04 12:00:00");
    REQUIRE(whole);
    CHECK(format_fas_time(*whole) == "2008-03-04 12:00:00+00:00");
    CHECK(format_fas_time(*parse_fas_time("2016-02-01T10:00:00.5Z")) == "2016-02-01 10:00:00.500000+00:00");
    CHECK_FALSE(parse_fas_time("2008-02-30 00:00:00"));
    CHECK_FALSE(parse_fas_time("yesterday"));
    CHECK_FALSE(parse_fas_time("2008-03-04 12:00:00+02:00"));
}

TEST_CASE("generated directory: fixed accounts, determinism, consistency")
{
    fas_data_params p;
    p.seed = 99;
    p.people = 500;
    p.groups = 30;
    auto a = fas_directory::generate(p);
    auto b = fas_directory::generate(p);
    CHECK(a->people_count() == 500 + 13);
    CHECK(a->group_count() == 30 + 11);

    auto ra = a->read();
    auto rb = b->read();
    REQUIRE(ra.people().size() == rb.people().size());
    for (std::size_t i = 0; i < ra.people().size(); ++i) {
        const auto& x = ra.people()[i];
        const auto& y = rb.people()[i];
        CHECK(x.id == y.id);
        CHECK(x.username == y.username);
        CHECK(x.email == y.email);
        CHECK(x.password == y.password);
        CHECK(x.roles.size() == y.roles.size());
    }
    // Fixed accounts as documented in fas.hpp.
    const auto* admin = ra.person_by_username("admin");
    REQUIRE(admin);
    CHECK(admin->id == 100001);
    CHECK(fas_verify_password("admin", admin->password));
    CHECK(ra.person_by_id(100068)->username == "jdoe");
    CHECK(ra.person_by_username("privuser")->privacy);
    CHECK(ra.person_by_username("zlukasiewicz")->human_name == "Zo\u00eb \u0141ukasiewicz \U0001F427");
    CHECK(ra.person_by_username("inactive")->status == fas_account_status::inactive);
    CHECK(ra.group_by_name("cla_done")->id == 100002);
    CHECK(ra.group_by_id(155928)->name == "cla_fpca");

    // Every role points at a real group, and members() agrees with the roles.
    std::size_t role_count = 0;
    for (const auto& person : ra.people()) {
        for (const auto& role : person.roles) {
            const auto* g = ra.group_by_id(role.group_id);
            REQUIRE(g);
            auto m = ra.members(*g);
            auto idx = static_cast<std::uint32_t>(&person - ra.people().data());
            CHECK(std::find(m.begin(), m.end(), idx) != m.end());
            ++role_count;
        }
    }
    CHECK(role_count > 500);
    // Generated accounts share the documented password.
    const auto& gen = ra.people().back();
    CHECK(gen.id >= 200000);
    CHECK(fas_verify_password("fedora-pass", gen.password));

    // Another seed gives other data.
    p.seed = 100;
    auto c = fas_directory::generate(p);
    CHECK(c->read().people().back().username != gen.username);
}

TEST_CASE("200k generated people in well under a few seconds")
{
    fas_data_params p;
    p.people = 200'000;
    p.groups = 1'000;
    // Timing is reported, not asserted: a shared machine makes it noise (bench/ measures).
    auto t0 = std::chrono::steady_clock::now();
    auto c0 = std::clock();
    auto d = fas_directory::generate(p);
    auto cpu = std::chrono::duration<double>(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    auto wall = std::chrono::steady_clock::now() - t0;
    CHECK(d->people_count() == 200'013);
    MESSAGE("generated 200k people in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " ms wall, "
            << std::chrono::duration_cast<std::chrono::milliseconds>(cpu).count() << " ms CPU");
    auto r = d->read();
    CHECK(r.person_by_username("admin") != nullptr);
    auto sorted = r.people_sorted_by_username();
    CHECK(std::is_sorted(sorted.begin(), sorted.end(), [&](auto x, auto y) {
        return r.people()[x].username < r.people()[y].username;
    }));
}

TEST_CASE("JSON fixture loading")
{
    const char* fixture = R"({
      "groups": [ {"name": "cla_done", "group_type": "cla"},
                  {"name": "web", "group_type": "tracking", "owner": "alice", "prerequisite": "cla_done"} ],
      "people": [ {"username": "alice", "id": 5000, "password": "secret", "human_name": "Alice A",
                   "privacy": true, "status": "active", "creation": "2010-01-02 03:04:05+00:00",
                   "roles": [ {"group": "cla_done"},
                              {"group": "web", "role_type": "sponsor", "sponsor": "bob"} ],
                   "configs": [ {"application": "bugzilla", "attribute": "login", "value": "a@x"} ] },
                  {"username": "bob", "password_hash": "$1$jdoe$1Z1oKZc28M8QBfGNvbr6X/"} ]
    })";
    auto d = fas_directory::from_json(fixture);
    auto alice = d->person("alice");
    REQUIRE(alice);
    CHECK(alice->id == 5000);
    CHECK(alice->privacy);
    CHECK(fas_verify_password("secret", alice->password));
    CHECK(alice->roles.size() == 2);
    CHECK(alice->roles[1].sponsor_id == d->person("bob")->id);
    CHECK(alice->roles[0].approval.has_value());
    CHECK(d->group("web")->owner_id == 5000);
    CHECK(d->group("web")->prerequisite_id == d->group("cla_done")->id);
    CHECK(d->config("alice", "bugzilla", "login") == std::optional<std::optional<std::string>>(std::string("a@x")));
    CHECK(fas_verify_password("jdoe-pass", d->person("bob")->password));
    CHECK_FALSE(d->person("admin")); // include_fixed defaults to false

    auto with_fixed = fas_directory::from_json(R"({"include_fixed": true, "people": [{"username": "carol"}]})");
    CHECK(with_fixed->person("admin"));
    CHECK(with_fixed->person("carol"));

    CHECK_THROWS_AS(fas_directory::from_json("not json"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"people": [{"username": "a", "bogus": 1}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"people": [{"username": "a"}, {"username": "a"}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"people": [{"username": "a", "roles": [{"group": "nope"}]}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"groups": [{"name": "g", "group_type": "weird"}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"people": [{"username": "a", "creation": "later"}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_json(R"({"people": [{"username": "a", "id": "1"}]})"), std::invalid_argument);
    CHECK_THROWS_AS(fas_directory::from_file("/nonexistent/fixture.json"), std::invalid_argument);
}

TEST_CASE("directory writes")
{
    auto d = fas_directory::generate(fas_env::small_data());
    fas_group g;
    g.name = "newgroup";
    g.display_name = "New";
    g.owner_id = 100068;
    auto id = d->create_group(g, 100001);
    REQUIRE(id);
    CHECK_FALSE(d->create_group(g));          // name taken
    fas_group clash;
    clash.name = "jdoe";                      // a username
    CHECK_FALSE(d->create_group(clash));
    auto jdoe = d->person("jdoe");
    auto it = std::find_if(jdoe->roles.begin(), jdoe->roles.end(), [&](auto& r) { return r.group_id == *id; });
    REQUIRE(it != jdoe->roles.end());
    CHECK(it->role_type == fas_role_type::administrator);
    CHECK(it->sponsor_id == 100001);

    CHECK(d->set_config("jdoe", "moin", "theme", std::nullopt));
    CHECK(d->config("jdoe", "moin", "theme") == std::optional<std::optional<std::string>>(std::optional<std::string>()));
    CHECK_FALSE(d->set_config("nobody", "moin", "x", "y"));
    CHECK(d->update_person("jdoe", [](fas_person& p) { p.privacy = true; p.username = "hijack"; }));
    CHECK(d->person("jdoe")->privacy);
    CHECK_FALSE(d->person("hijack"));
    CHECK(d->set_password("jdoe", "new-pass"));
    CHECK(fas_verify_password("new-pass", d->person("jdoe")->password));
    CHECK_THROWS_AS(d->add_person(fas_person{.username = "jdoe"}), std::invalid_argument);
    auto nid = d->add_person(fas_person{.username = "fresh"});
    CHECK(d->person(nid)->username == "fresh");
}

TEST_CASE("login: success body, cookie and session")
{
    fas_env env;
    request_options o;
    o.body = form({{"user_name", "jdoe"}, {"password", "jdoe-pass"}, {"login", "Login"}});
    auto a = env.send("/login", o);
    REQUIRE(a.status() == 200);
    CHECK(a.header(http::field::content_type) == "application/json");
    auto visit = a.visit();
    CHECK(visit.size() == 40);
    CHECK(std::all_of(visit.begin(), visit.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); }));
    auto cookies = a.cookies();
    CHECK(std::find(cookies.begin(), cookies.end(), "tg-visit=" + visit + "; Path=/") != cookies.end());
    CHECK(env.app.session_user(visit) == 100068);

    auto body = a.obj();
    CHECK(body.at("tg_flash") == "Welcome, jdoe");
    CHECK_FALSE(body.contains("_csrf_token"));
    const auto& user = body.at("user").as_object();
    CHECK(user.at("username") == "jdoe");
    CHECK(user.at("password").as_string().starts_with("$1$"));     // own hash, self level
    CHECK(user.at("security_question") == "Favourite colour?");
    CHECK(user.at("security_answer").is_null());                  // admin-only
    CHECK(user.at("passwordtoken").is_null());
    CHECK(user.at("internal_comments").is_null());
    CHECK(user.at("group_roles").is_array());                     // names, not an object
    auto groups = user.at("groups").as_array();
    CHECK(std::find(groups.begin(), groups.end(), json::value("cla_done")) != groups.end());
    CHECK(user.at("approved_memberships").as_array().size() == 4);
    CHECK(user.at("roles").as_array().size() == 4);

    // The session now identifies jdoe (cookie + token), without the password.
    auto home = env.as(visit, "/home");
    CHECK(home.status() == 200);
    CHECK(home.visit() == visit);
    CHECK(home.obj().at("person").at("username") == "jdoe");
    CHECK(home.obj().at("cla") == true);

    // Login by user@fedoraproject.org is login by user; by e-mail address it is not.
    CHECK_FALSE(env.login("jdoe@fedoraproject.org", "jdoe-pass").empty());
    CHECK(env.login("jdoe@example.org", "jdoe-pass").empty());
    // last_seen moved to now.
    CHECK(format_fas_time(env.dir->person("jdoe")->last_seen) == "2018-05-18 11:30:51+00:00");
}

TEST_CASE("login: failures answer 403 with the login dict")
{
    fas_env env;
    auto attempt = [&](std::string_view user, std::string_view pass) {
        request_options o;
        o.body = form({{"user_name", user}, {"password", pass}, {"login", "Login"}, {"extra", "1"}});
        return env.send("/login", o);
    };
    for (auto up : {std::pair{"jdoe", "wrong"}, {"nobody", "x"}, {"jdoe", ""}, {"", ""},
                    {"disabled", "disabled-pass"}, {"inactive", "inactive-pass"}}) {
        // (Named copies, not structured bindings: clang 14 cannot capture those in CAPTURE.)
        const char* u = up.first;
        const char* p = up.second;
        CAPTURE(u);
        auto a = attempt(u, p);
        CHECK(a.status() == 403);
        CHECK(a.visit().size() == 40); // a cookie even for failures
        auto b = a.obj();
        CHECK(b.at("logging_in") == true);
        CHECK(b.at("message") == "The credentials you supplied were not correct or did not grant access to this resource.");
        CHECK(b.at("forward_url").is_null());
        CHECK(b.at("previous_url") == "/accounts/login");
        CHECK(b.at("original_parameters").as_object().at("extra") == "1");
        CHECK_FALSE(b.at("original_parameters").as_object().contains("password"));
        if (std::string_view(u) == "inactive")
            CHECK(b.at("tg_flash") == "Your old password has expired.  Please reset your password below.");
        else
            CHECK(b.at("tg_flash").is_null());
        CHECK(env.app.session_user(a.visit()) == 0);
    }
    // A bot may log in.
    CHECK_FALSE(env.login("botuser", "botuser-pass").empty());
    // otp present: the yubikey check fails (not configured).
    request_options o;
    o.body = form({{"user_name", "jdoe"}, {"password", "jdoe-pass"}, {"login", "Login"}, {"otp", "cccc"}});
    CHECK(env.send("/login", o).status() == 403);

    // No credentials at all: "Please log in.", forward_url from Referer or "/".
    request_options none;
    auto a = env.send("/login", none);
    CHECK(a.status() == 403);
    CHECK(a.obj().at("message") == "Please log in.");
    CHECK(a.obj().at("forward_url") == "/");
    none.headers = {{http::field::referer, "http://x/y"}};
    CHECK(env.send("/login", none).obj().at("forward_url") == "http://x/y");
    // ... even with a valid session and token.
    auto visit = env.login("jdoe", "jdoe-pass");
    request_options s;
    s.visit = visit;
    CHECK(env.send("/login", s).status() == 403);
    // HTML clients get a login page, also 403.
    request_options html;
    html.accept = "text/html";
    auto page = env.send("/login", html);
    CHECK(page.status() == 403);
    CHECK(page.header(http::field::content_type) == "text/html; charset=utf-8");
    CHECK(page.body().find("<form") != std::string::npos);
}

TEST_CASE("HTTP Basic authentication")
{
    fas_env env;
    request_options o;
    o.headers = {{http::field::authorization, "Basic amRvZTpqZG9lLXBhc3M="}}; // jdoe:jdoe-pass
    auto a = env.send("/json/person_by_username", [&] { o.body = "username=jdoe"; return o; }());
    CHECK(a.status() == 200);
    CHECK(a.obj().at("person").at("password").as_string().starts_with("$1$"));
    o.headers = {{http::field::authorization, "Basic amRvZTpXUk9ORw=="}}; // jdoe:WRONG
    auto b = env.send("/json/person_by_username", o);
    CHECK(b.status() == 403);
    CHECK(b.obj().at("message") == "The credentials you supplied were not correct or did not grant access to this resource.");
    o.headers = {{http::field::authorization, "Basic %%%"}};
    CHECK(env.send("/json/person_by_username", o).status() == 403);
}

TEST_CASE("CSRF rule: a cookie identifies only with _csrf_token == sha1hex(tg-visit)")
{
    fas_env env;
    auto visit = env.login("jdoe", "jdoe-pass");
    REQUIRE_FALSE(visit.empty());

    request_options o;
    o.visit = visit;
    o.body = "username=jdoe";

    o.csrf = false; // cookie without token: anonymous
    auto no_token = env.send("/json/person_by_username", o);
    CHECK(no_token.status() == 403);
    CHECK(no_token.obj().at("message") == "You must provide your credentials before accessing this resource.");
    CHECK(no_token.visit() == visit); // the session itself is still alive...
    CHECK(env.app.session_user(visit) == 100068); // ...and still linked

    o.csrf_override = fas_csrf_token(visit + "x"); // wrong token: anonymous
    CHECK(env.send("/json/person_by_username", o).status() == 403);
    o.csrf_override = std::string(visit); // the key itself is not the token
    CHECK(env.send("/json/person_by_username", o).status() == 403);

    o.csrf_override.clear();
    o.csrf = true; // right token: identified
    auto ok = env.send("/json/person_by_username", o);
    CHECK(ok.status() == 200);
    CHECK(ok.obj().at("success") == true);
    // The token also works in the query string.
    request_options q;
    q.visit = visit;
    q.csrf = false;
    q.query = "_csrf_token=" + fas_csrf_token(visit) + "&username=jdoe";
    CHECK(env.send("/json/person_by_username", q).status() == 200);

    // Root: anonymous without the token, logged in with it.
    o.body.clear();
    o.csrf = false;
    CHECK(env.send("/", o).obj().contains("now"));
    o.csrf = true;
    CHECK_FALSE(env.send("/", o).obj().contains("now"));

    // A wrong password next to a live session still succeeds as the session's user.
    request_options w;
    w.visit = visit;
    w.body = form({{"username", "jdoe"}, {"user_name", "jdoe"}, {"password", "bad"}, {"login", "Login"}});
    CHECK(env.send("/json/person_by_username", w).status() == 200);

    // The FAS < 0.13 client-certificate bypass is not emulated.
    const std::string bypass_body =
        form({{"user_name", ""}, {"password", ""}, {"login", "Login"}, {"username", "admin"}});
    auto bypass_req = [&] {
        http_request req;
        req.method(http::verb::post);
        req.target("/accounts/json/person_by_username");
        req.set(http::field::accept, "application/json");
        req.set(http::field::content_type, "application/x-www-form-urlencoded");
        req.set("X-Client-Verify", "SUCCESS");
        req.set("X-Client-CN", "admin");
        req.body() = bypass_body;
        req.prepare_payload();
        request_context ctx;
        ctx.path_in_app = "/json/person_by_username";
        ctx.origin = "http://127.0.0.1:8080";
        return env.app.handle(req, ctx);
    }();
    CHECK(bypass_req.result_int() == 403);

    // A client never chooses its own key.
    request_options forged;
    forged.visit = std::string(40, 'a');
    auto f = env.send("/", forged);
    CHECK(f.visit() != forged.visit);
    CHECK(f.visit().size() == 40);
}

TEST_CASE("sessions: sliding expiry, unknown keys replaced, logout")
{
    fas_app_params prm;
    prm.session_timeout = std::chrono::seconds(60);
    fas_env env(prm);
    auto visit = env.login("jdoe", "jdoe-pass");
    REQUIRE_FALSE(visit.empty());

    env.clock->advance(std::chrono::seconds(50));
    CHECK(env.as(visit, "/home").status() == 200); // refreshes to now + 60 s
    env.clock->advance(std::chrono::seconds(50));
    auto still = env.as(visit, "/home");
    CHECK(still.status() == 200);
    CHECK(still.visit() == visit);

    env.clock->advance(std::chrono::seconds(61));
    CHECK_FALSE(env.app.session_user(visit).has_value());
    auto expired = env.as(visit, "/home");
    CHECK(expired.status() == 403);
    CHECK(expired.visit() != visit); // a fresh anonymous key
    CHECK(env.app.session_user(expired.visit()) == 0);

    // refresh_session-style POST to the root always returns a usable cookie.
    auto root = env.as(visit, "/");
    CHECK(root.status() == 200);
    CHECK(root.visit().size() == 40);

    // Logout: same cookie comes back, now anonymous; no token needed.
    auto v2 = env.login("jdoe", "jdoe-pass");
    request_options o;
    o.visit = v2;
    o.csrf = false;
    auto out = env.send("/logout", o);
    CHECK(out.status() == 200);
    CHECK(out.obj().at("tg_flash") == "You have successfully logged out.");
    CHECK(out.visit() == v2);
    CHECK(env.app.session_user(v2) == 0);
    CHECK(env.as(v2, "/home").status() == 403);
    // Logging in again on the same visit links it again.
    request_options again;
    again.visit = v2;
    again.csrf = false;
    again.body = form({{"user_name", "nocla"}, {"password", "nocla-pass"}, {"login", "Login"}});
    auto relog = env.send("/login", again);
    CHECK(relog.visit() == v2);
    CHECK(env.app.session_user(v2) == 100070);

    // A session of an account that gets disabled stops identifying.
    env.dir->update_person("nocla", [](fas_person& p) { p.status = fas_account_status::admin_disabled; });
    CHECK(env.as(v2, "/home").status() == 403);
    CHECK(env.app.session_user(v2) == 0);
}

TEST_CASE("session store keeps its cap")
{
    fas_app_params prm;
    prm.max_sessions = 64;
    fas_env env(prm);
    for (int i = 0; i < 1000; ++i) env.send("/", request_options{});
    CHECK(env.app.session_count() <= 64 + 16);
    auto visit = env.login("jdoe", "jdoe-pass");
    CHECK(env.as(visit, "/home").status() == 200);
}

namespace {

json::object person_as(fas_env& env, const std::string& visit, std::string_view target)
{
    auto a = env.as(visit, "/json/person_by_username", form({{"username", target}}));
    REQUIRE(a.status() == 200);
    auto o = a.obj();
    REQUIRE(o.at("success") == true);
    return o.at("person").as_object();
}

} // namespace

TEST_CASE("privacy: what each viewer level sees")
{
    fas_env env;
    auto jdoe = env.login("jdoe", "jdoe-pass");
    auto priv = env.login("privuser", "privuser-pass");
    auto admin = env.login("admin", "admin");
    auto sys = env.login("sysuser", "sysuser-pass");
    auto tp = env.login("tpuser", "tpuser-pass");

    SUBCASE("anonymous is refused") {
        request_options o;
        o.body = "username=privuser";
        CHECK(env.send("/json/person_by_username", o).status() == 403);
    }
    SUBCASE("another user looking at a privacy account") {
        auto p = person_as(env, jdoe, "privuser");
        CHECK(p.at("username") == "privuser");
        CHECK(p.at("email") == "privuser@example.org");   // e-mail is not hidden
        CHECK(p.at("status") == "active");
        CHECK(p.at("human_name").is_null());
        CHECK(p.at("ircnick").is_null());
        CHECK(p.at("gpg_keyid").is_null());
        CHECK(p.at("country_code").is_null());
        CHECK(p.at("ssh_key").is_null());
        CHECK(p.at("telephone").is_null());
        CHECK(p.at("password") == "*");
        CHECK(p.at("privacy") == true);
        // memberships and roles are never filtered
        CHECK(p.at("roles").as_array().size() == 3);
        CHECK(p.at("group_roles").as_object().contains("packager"));
        CHECK(p.at("approved_memberships").as_array().size() == 3);
        CHECK(p.at("unapproved_memberships").as_array().empty());
    }
    SUBCASE("another user looking at a public account") {
        auto p = person_as(env, priv, "jdoe");
        CHECK(p.at("human_name") == "John Doe");
        CHECK(p.at("ircnick") == "jdoe");
        CHECK(p.at("gpg_keyid") == "AB12CD34");
        CHECK(p.at("latitude") == 45.5);
        CHECK(p.at("ssh_key").is_null());
        CHECK(p.at("password") == "*");
        CHECK(p.at("telephone").is_null());
        CHECK(p.at("security_question").is_null());
        CHECK(p.at("old_password").is_null());
        CHECK(p.at("passwordtoken").is_null());
        CHECK(p.at("creation") == "2008-03-04 21:55:30.873744+00:00");
    }
    SUBCASE("self sees the own hash, not the admin fields") {
        auto p = person_as(env, priv, "privuser");
        CHECK(p.at("human_name") == "Private Person");
        CHECK(p.at("password").as_string().starts_with("$1$"));
        CHECK(p.at("ssh_key").as_string().starts_with("ssh-rsa"));
        CHECK(p.at("telephone") == "+49 30 000000");
        CHECK(p.at("security_answer").is_null());
        CHECK(p.at("alias_enabled").is_null());
        CHECK(p.at("internal_comments").is_null());
    }
    SUBCASE("admin and fas-system see everything") {
        for (const auto& v : {admin, sys}) {
            auto p = person_as(env, v, "jdoe");
            CHECK(p.at("password").as_string().starts_with("$1$"));
            CHECK(p.at("passwordtoken") == "reset-token-jdoe");
            CHECK(p.at("security_answer") == "blue");
            CHECK(p.at("internal_comments") == "long-time contributor");
            CHECK(p.at("alias_enabled") == true);
            CHECK(p.at("ssh_key").is_string());
            auto q = person_as(env, v, "privuser");
            CHECK(q.at("human_name") == "Private Person");
        }
    }
    SUBCASE("thirdparty sees ssh keys, nothing else extra") {
        auto p = person_as(env, tp, "privuser");
        CHECK(p.at("ssh_key").as_string().starts_with("ssh-rsa"));
        CHECK(p.at("human_name").is_null());
        CHECK(p.at("password") == "*");
    }
    SUBCASE("every complete field is present") {
        auto p = person_as(env, jdoe, "nocla");
        for (auto k : {"id", "username", "human_name", "gpg_keyid", "ssh_key", "password",
                       "password_changed", "email", "unverified_email", "comments",
                       "postal_address", "telephone", "facsimile", "affiliation",
                       "certificate_serial", "creation", "ircnick", "last_seen", "status",
                       "status_change", "locale", "timezone", "latitude", "longitude",
                       "country_code", "privacy", "old_password", "security_question",
                       "security_answer", "passwordtoken", "emailtoken", "internal_comments",
                       "alias_enabled", "ipa_sync_status", "group_roles", "memberships", "roles",
                       "approved_memberships", "unapproved_memberships"})
            CHECK_MESSAGE(p.contains(k), k);
        CHECK(p.size() == 39);
        CHECK(p.at("unapproved_memberships").as_array().size() == 1);
    }
}

TEST_CASE("person JSON follows directory changes (render cache)")
{
    fas_env env;
    auto v = env.login("privuser", "privuser-pass");
    auto jdoe = env.login("jdoe", "jdoe-pass");
    CHECK(person_as(env, jdoe, "privuser").at("human_name").is_null());
    CHECK(person_as(env, v, "privuser").at("human_name") == "Private Person"); // other level
    env.dir->update_person("privuser", [](fas_person& p) { p.privacy = false; p.human_name = "Now Public"; });
    CHECK(person_as(env, jdoe, "privuser").at("human_name") == "Now Public");
    fas_role r;
    r.role_type = fas_role_type::sponsor;
    CHECK(env.dir->set_role("privuser", "fedorabugs", r));
    CHECK(person_as(env, jdoe, "privuser").at("group_roles").as_object().contains("fedorabugs"));
    auto by_id = env.as(jdoe, "/json/person_by_id", "person_id=100071").obj();
    CHECK(by_id.at("person").at("human_name") == "Now Public");
}

TEST_CASE("non-ASCII text travels as \\u escapes")
{
    fas_env env;
    auto v = env.login("zlukasiewicz", "zoe-pass");
    auto a = env.as(v, "/json/person_by_username", "username=zlukasiewicz");
    REQUIRE(a.status() == 200);
    CHECK(std::all_of(a.body().begin(), a.body().end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
    CHECK(a.body().find("Zo\\u00eb \\u0141ukasiewicz \\ud83d\\udc27") != std::string::npos);
    CHECK(a.obj().at("person").at("human_name") == "Zo\u00eb \u0141ukasiewicz \U0001F427");
    CHECK(a.obj().at("person").at("affiliation") == "Universit\u00e9 de M\u00fcnchen");
    // Non-ASCII input is echoed back escaped as well.
    auto l = env.as(v, "/user/list", form({{"search", "\u00fc*"}}));
    CHECK(l.status() == 200);
    CHECK(l.obj().at("search") == "\u00fc*");
    CHECK(l.body().find("\\u00fc*") != std::string::npos);
}

TEST_CASE("concurrent readers and writers")
{
    fas_env env;
    auto visit = env.login("admin", "admin");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                answer a;
                if (t == 0) {
                    a = env.as(visit, "/config/set/jdoe/moin/k" + std::to_string(i), "value=v");
                } else if (t == 1 && i % 20 == 0) {
                    a = env.as(visit, "/group/create/conc" + std::to_string(i) + "/D/jdoe/tracking");
                    if (a.status() != 303) ++failures;
                    continue;
                } else if (t == 2) {
                    a = env.send("/login", [] {
                        request_options o;
                        o.body = form({{"user_name", "jdoe"}, {"password", "jdoe-pass"}, {"login", "Login"}});
                        return o;
                    }());
                } else {
                    a = env.as(visit, "/json/person_by_username", "username=jdoe");
                }
                if (a.status() != 200) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    CHECK(env.dir->group("conc180"));
    CHECK(env.dir->config("jdoe", "moin", "k199"));
}

TEST_SUITE_END();
