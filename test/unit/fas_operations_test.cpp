// The FAS operations are pure: requests built, answers read, with no I/O.
#include <fedora/fas/operations.hpp>

#include "../../lib/fas/core.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

namespace fas = fedora::fas;
namespace ops = fedora::fas::ops;
using fedora::errc;

namespace {
fas::raw_reply answer(std::string_view json_text)
{
    fas::raw_reply r;
    r.body = boost::json::parse(json_text);
    r.status = 200;
    return r;
}

fedora::http::response http_answer(unsigned status, std::string body, std::string cookie = {})
{
    fedora::http::response resp;
    resp.message.result(status);
    resp.message.body() = std::move(body);
    if (!cookie.empty())
        resp.message.insert(boost::beast::http::field::set_cookie, cookie);
    return resp;
}
} // namespace

TEST_SUITE("fas.operations")
{
TEST_CASE("requests: paths and form fields as python-fedora sends them")
{
    auto r = ops::person_by_id{100068}.build();
    CHECK(r.path == "json/person_by_id");
    CHECK(r.form.encode() == "person_id=100068");
    CHECK(r.safe_to_repeat);

    auto k = ops::people_by_key{"username", "j*", {"id", "email"}}.build();
    CHECK(k.path == "user/list");
    CHECK(k.form.encode() == "search=j%2A&fields=id&fields=email&fields=username");

    auto b = ops::people_by_key{"id", "*", {"bugzilla_email"}}.build();
    CHECK(b.form.encode() == "search=%2A&fields=id&fields=email");

    CHECK(ops::people_by_key{"nickname", "*", {}}.build().refused == errc::invalid_argument);
    CHECK(ops::people_by_key{"id", "*", {"roles"}}.build().refused == errc::invalid_argument);

    auto q = ops::people_query{{{"username", "j%"}}, {"id", "username", "email"}}.build();
    CHECK(q.form.encode() == "username=j%25&columns=id%2Cusername%2Cemail");
    CHECK(ops::people_query{}.build().form.encode() == "columns=");

    CHECK(ops::group_data{true}.build().form.encode() == "force_refresh=True");
    CHECK(ops::group_data{false}.build().form.empty());

    auto c = ops::create_group{"Test Group", "A b/c?d#e", "jdoe", "user"}.build();
    // One encoding per segment (python-fedora encoded twice), '/' kept inside its segment.
    CHECK(c.path == "group/create/Test%20Group/A%20b%2Fc%3Fd%23e/jdoe/user");
    CHECK(c.form.encode() ==
          "invite_only=0&needs_sponsor=0&user_can_remove=1&prerequisite=&joinmsg=&apply_rules=None");
    CHECK_FALSE(c.safe_to_repeat);

    auto g = ops::get_configs_like{"jdoe", "bugzilla", "*"}.build();
    CHECK(g.path == "config/list/jdoe/bugzilla/%2A");
    auto escape = ops::get_configs_like{"..", "..", ".."}.build();
    CHECK(escape.refused == errc::invalid_argument);
    auto s = ops::set_config{"jdoe", "moin", "theme", "light blue & \xc3\xbc"}.build();
    CHECK(s.form.encode() == "value=light+blue+%26+%C3%BC");
    CHECK_FALSE(s.safe_to_repeat);

    CHECK(ops::group_members{"a/b"}.build().path == "group/dump/a%2Fb");
    CHECK(ops::refresh_session{}.build().path.empty());
    CHECK(ops::send_request{"/json/user_id"}.build().path == "json/user_id");
    CHECK(ops::send_request{"json/../../x"}.build().refused == errc::invalid_argument);
    CHECK(ops::send_request{"a b?c"}.build().path == "a%20b%3Fc");
}

TEST_CASE("answers: typed results, python-fedora's soft failures")
{
    SUBCASE("person_by_id: success, and {} for nobody")
    {
        auto r = answer(R"({"success":true,"person":{"id":7,"username":"jdoe","email":"j@x","password":"*",
                          "human_name":null,"approved_memberships":[{"id":1,"name":"packager"}]},"tg_flash":null})");
        ops::person_by_id::result_type out;
        CHECK(!ops::person_by_id{7}.parse(r, out));
        REQUIRE(out);
        CHECK(out->username == "jdoe");
        CHECK(out->human_name.empty());
        CHECK(out->bugzilla_email == "j@x");
        REQUIRE(out->approved_memberships.size() == 1);
        CHECK(out->approved_memberships[0].name == "packager");
        CHECK(out->raw.contains("password"));

        auto none = answer(R"({"success":false,"tg_flash":null})");
        ops::person_by_id::result_type empty;
        CHECK(!ops::person_by_id{8}.parse(none, empty));
        CHECK_FALSE(empty);

        fas::person p;
        auto none2 = answer(R"({"success":false,"tg_flash":"nope"})");
        CHECK(ops::proxy_person_by_id{8}.parse(none2, p) == errc::app_error);
        CHECK(none2.diag.app_error_name == "Generic AppError");
    }
    SUBCASE("person fields are read by their whole names, not by names that differ in one byte")
    {
        // Every typed member's name, and each of them changed in its first, a middle and
        // its last byte: only the exact names may set a field.
        const std::vector<std::string> names = {
            "id", "email", "roles", "status", "locale", "ircnick", "ssh_key", "privacy", "username",
            "creation", "password", "timezone", "gpg_keyid", "human_name", "bugzilla_email",
            "approved_memberships", "unapproved_memberships"};
        const auto value_for = [](const std::string& n) -> std::string {
            if (n == "id")
                return "42";
            if (n == "privacy")
                return "true";
            if (n == "roles")
                return R"([{"group_id":5,"role_type":"user"}])";
            if (n == "approved_memberships" || n == "unapproved_memberships")
                return R"([{"id":1,"name":"g"}])";
            return "\"" + n + "-value\"";
        };
        std::string near = R"({"success":true,"person":{)", exact = near;
        for (const auto& n : names) {
            for (std::size_t at : {std::size_t(0), n.size() / 2, n.size() - 1}) {
                std::string changed = n;
                changed[at] = changed[at] == 'x' ? 'y' : 'x';
                near += "\"" + changed + "\":" + value_for(n) + ",";
            }
            exact += "\"" + n + "\":" + value_for(n) + ",";
        }
        near.back() = '}';
        exact.back() = '}';
        near += "}";
        exact += "}";

        // The string members, each named as its field is.
        const std::pair<std::string fas::person::*, std::string> strings[] = {
            {&fas::person::username, "username"},   {&fas::person::email, "email"},
            {&fas::person::human_name, "human_name"}, {&fas::person::status, "status"},
            {&fas::person::locale, "locale"},       {&fas::person::ircnick, "ircnick"},
            {&fas::person::ssh_key, "ssh_key"},     {&fas::person::creation, "creation"},
            {&fas::person::password, "password"},   {&fas::person::timezone, "timezone"},
            {&fas::person::gpg_keyid, "gpg_keyid"}, {&fas::person::bugzilla_email, "bugzilla_email"}};

        ops::person_by_id::result_type none, all;
        auto a = answer(near);
        REQUIRE(!ops::person_by_id{42}.parse(a, none));
        REQUIRE(none);
        CHECK(none->id == 0);
        for (const auto& [member, name] : strings) {
            CAPTURE(name);
            CHECK((*none).*member == "");
        }
        CHECK_FALSE(none->privacy);
        CHECK(none->roles.empty());
        CHECK(none->approved_memberships.empty());
        CHECK(none->unapproved_memberships.empty());

        auto b = answer(exact);
        REQUIRE(!ops::person_by_id{42}.parse(b, all));
        REQUIRE(all);
        CHECK(all->id == 42);
        for (const auto& [member, name] : strings) {
            CAPTURE(name);
            CHECK((*all).*member == name + "-value");
        }
        CHECK(all->privacy);
        CHECK(all->roles.size() == 1);
        CHECK(all->approved_memberships.size() == 1);
        CHECK(all->unapproved_memberships.size() == 1);
    }
    SUBCASE("group_by_name: app error for an unknown group")
    {
        fas::group g;
        auto r = answer(R"({"success":false})");
        CHECK(ops::group_by_name{"nosuch"}.parse(r, g) == errc::app_error);
        CHECK(r.diag.app_error_name == "FASError");
        CHECK(r.diag.message == "FAS server unable to retrieve group nosuch");
    }
    SUBCASE("people_by_key: integer keys for id, unrequested fields dropped")
    {
        auto r = answer(R"({"people":[{"id":1,"username":"a","email":"a@x"}],"unapproved_people":[{"id":2,"username":"b","email":"b@x"}]})");
        fas::people_map out;
        CHECK(!ops::people_by_key{"id", "*", {"email"}}.parse(r, out));
        auto& m = std::get<fas::people_by_id_map>(out);
        REQUIRE(m.size() == 2);
        CHECK(m.at(2).email == "b@x");
        CHECK_FALSE(m.at(1).raw.contains("id"));
    }
    SUBCASE("user_id keys become integers; user_data keys stay strings")
    {
        auto r = answer(R"({"people":{"100068":"jdoe","7":"x"}})");
        ops::user_id::result_type ids;
        CHECK(!ops::user_id{}.parse(r, ids));
        CHECK(ids.at(100068) == "jdoe");
        auto d = answer(R"({"success":true,"data":{"7":{"username":"x","password":"*","human_name":"X","ssh_key":"","email":"x@x","alias_enabled":true}}})");
        ops::user_data::result_type data;
        CHECK(!ops::user_data{}.parse(d, data));
        CHECK(data.at("7").alias_enabled);
        auto bad = answer(R"({"success":false})");
        CHECK(ops::user_data{}.parse(bad, data) == errc::app_error);
    }
    SUBCASE("people_query: the server's error message")
    {
        auto r = answer(R"({"success":false,"error":"Invalid column requested.","data":{}})");
        ops::people_query::result_type rows;
        CHECK(ops::people_query{}.parse(r, rows) == errc::app_error);
        CHECK(r.diag.message == "Invalid column requested.");
    }
    SUBCASE("user_gencert: CLA error, or cert and key")
    {
        std::string out;
        auto no = answer(R"({"cla":false})");
        CHECK(ops::user_gencert{}.parse(no, out) == errc::cla_error);
        auto yes = answer(R"({"cla":true,"cert":"CERT","key":"KEY"})");
        CHECK(!ops::user_gencert{}.parse(yes, out));
        CHECK(out == "CERT\nKEY");
        auto odd = answer(R"({"tg_flash":null})");
        CHECK(ops::user_gencert{}.parse(odd, out) == errc::server_error);
    }
    SUBCASE("answers of the wrong shape are server errors, never crashes")
    {
        for (auto text : {"[]", "1", "\"x\"", "null", R"({"people":7})", R"({"people":[[1]]})",
                          R"({"group":[]})", R"({"configs":"x"})"}) {
            auto r = answer(text);
            std::vector<fas::member> m;
            CHECK(ops::group_members{"g"}.parse(r, m) == errc::server_error);
            ops::get_config::result_type c;
            auto r2 = answer(text);
            CHECK(ops::get_config{"u", "a", "b"}.parse(r2, c) == errc::server_error);
            fas::group_list gl;
            auto r3 = answer(text);
            CHECK(ops::group_list_op{}.parse(r3, gl) == errc::server_error);
        }
    }
}

TEST_CASE("the common reading of answers: auth, server errors, exc, session cookie")
{
    fas::raw_reply r;
    auto ok = http_answer(200, R"({"x":1})", "tg-visit=abc123; Path=/; expires=Wed");
    CHECK(!fas::detail::read_fas_answer(ok, r));
    CHECK(r.session_id == "abc123");

    fas::raw_reply r403;
    auto denied = http_answer(403, R"({"logging_in":true})");
    CHECK(fas::detail::read_fas_answer(denied, r403) == errc::auth_error);

    fas::raw_reply r500;
    auto html = http_answer(503, "<html>" + std::string(5000, 'x') + "</html>");
    CHECK(fas::detail::read_fas_answer(html, r500) == errc::server_error);
    CHECK(r500.diag.body_snippet.size() <= 1024);

    fas::raw_reply rhtml;
    auto page = http_answer(200, "<html>login</html>");
    CHECK(fas::detail::read_fas_answer(page, rhtml) == errc::server_error);

    fas::raw_reply rexc;
    auto exc = http_answer(200, R"({"exc":"AuthorizationError","tg_flash":"You cannot look","extra":5})");
    CHECK(fas::detail::read_fas_answer(exc, rexc) == errc::app_error);
    CHECK(rexc.diag.app_error_name == "AuthorizationError");
    CHECK(rexc.diag.message == "You cannot look");
    CHECK(rexc.diag.extras.at("extra").as_int64() == 5);

    // python-fedora crashed with KeyError on `exc` without `tg_flash`.
    fas::raw_reply rbare;
    auto bare = http_answer(200, R"({"exc":"Invalid"})");
    CHECK(fas::detail::read_fas_answer(bare, rbare) == errc::app_error);
    CHECK(rbare.diag.app_error_name == "Invalid");

    fas::raw_reply deep;
    auto nested = http_answer(200, std::string(100000, '[') + std::string(100000, ']'));
    CHECK(fas::detail::read_fas_answer(nested, deep) == errc::server_error);
}

TEST_CASE("avatar URLs: python-fedora's test vectors")
{
    CHECK(fas::gravatar_url_for_email("jdoe@fedoraproject.org", 32, "") ==
          "http://www.gravatar.com/avatar/7c8ec91db55a2a515c62d860e83469ac?s=32&d="
          "http%3A%2F%2Ffedoraproject.org%2Fstatic%2Fimages%2Ffedora_infinity_32x32.png");
    CHECK(fas::gravatar_url_for_email("no_email", 64, "").find("81fec6105377fc5d06d0055ef2129407") !=
          std::string::npos);
    CHECK(fas::gravatar_url_for_email("x", 64, "https://example.org/x.png?a=1")
              .ends_with("d=https%3A%2F%2Fexample.org%2Fx.png%3Fa%3D1"));
    CHECK(fas::libravatar_url_for_username("JDoe", 140, "") ==
          "http://cdn.libravatar.org/avatar/e8f59ef5c00f427698fa88353b7ec501ea732951431137f1ccffb9f390ead962"
          "?d=http%3A%2F%2Ffedoraproject.org%2Fstatic%2Fimages%2Ffedora_infinity_140x140.png&s=140");
    CHECK(fas::valid_avatar_size(140));
    CHECK_FALSE(fas::valid_avatar_size(100));
}

TEST_CASE("csrf token is sha1 hex of the session id")
{
    CHECK(fas::csrf_token_for("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}
}
