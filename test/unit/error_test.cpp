#include <fedora/error.hpp>

#include <doctest/doctest.h>

TEST_CASE("fedora errors carry their kind and diagnostics")
{
    fedora::diagnostics d;
    d.http_status = 503;
    d.url = "https://fas.example/accounts/json/person_by_id";
    d.message = "no JSON";
    fedora::error e(fedora::errc::server_error, d);
    CHECK(e.code() == fedora::errc::server_error);
    CHECK(e.code().category().name() == std::string("fedora"));
    CHECK(e.diag().http_status == 503);
    std::string what = e.what();
    CHECK(what.find("HTTP 503") != std::string::npos);
    CHECK(what.find("no JSON") != std::string::npos);
    CHECK(what.find("person_by_id") != std::string::npos);
}

TEST_CASE("every error kind has its own message")
{
    for (int i = 1; i <= static_cast<int>(fedora::errc::client_closed); ++i) {
        auto ec = make_error_code(static_cast<fedora::errc>(i));
        CHECK(ec.message() != "unknown fedora error");
    }
}

TEST_CASE("mask_secrets hides passwords, session ids and CSRF tokens")
{
    auto masked = fedora::mask_secrets(
        "user_name=jdoe&password=hunter2&_csrf_token=abc123&login=Login");
    CHECK(masked == "user_name=jdoe&password=***&_csrf_token=***&login=Login");
    CHECK(fedora::mask_secrets("Cookie: tg-visit=deadbeef; other=1") ==
          "Cookie: tg-visit=***; other=1");
    CHECK(fedora::mask_secrets("Authorization: Basic Zm9vOmJhcg==").find("Zm9v") ==
          std::string::npos);
    CHECK(fedora::mask_secrets("nothing secret here") == "nothing secret here");
    // JSON, as a server echoing a request body back in an error page writes it.
    CHECK(fedora::mask_secrets(R"({"user":"jdoe","password": "hun\"ter2","csrf_token":"abc","n":1})") ==
          R"({"user":"jdoe","password": "***","csrf_token":"***","n":1})");
    CHECK(fedora::mask_secrets(R"({"password": "unterminated)") == R"({"password": "***)");
    // A request quoted in JSON: the escapes run into the key names.
    auto quoted = fedora::mask_secrets(R"({"r":"POST / HTTP/1.1\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n_csrf_token=abc123&x=1"})");
    CHECK(quoted.find("abc123") == std::string::npos);
    CHECK(quoted.find("Zm9v") == std::string::npos);
}
