#include <fedora/error.hpp>

#include <array>
#include <cctype>
#include <string>

namespace fedora {
namespace {

class category final : public boost::system::error_category
{
public:
    const char* name() const noexcept override { return "fedora"; }

    std::string message(int value) const override
    {
        switch (static_cast<errc>(value)) {
        case errc::auth_error: return "authentication failed";
        case errc::app_error: return "the server reported an application error";
        case errc::cla_error: return "the user has not signed the CLA";
        case errc::server_error: return "the server failed to answer as expected";
        case errc::not_supported: return "the server does not support this operation";
        case errc::invalid_argument: return "invalid argument";
        case errc::timeout: return "the call's deadline passed";
        case errc::cancelled: return "the call was cancelled";
        case errc::queue_full: return "too many calls waiting for a connection";
        case errc::connect_error: return "connection failed";
        case errc::tls_error: return "TLS handshake or certificate verification failed";
        case errc::protocol_error: return "malformed HTTP response";
        case errc::limit_exceeded: return "response larger than the configured limit";
        case errc::redirect_error: return "redirect refused";
        case errc::client_closed: return "the client was shut down";
        }
        return "unknown fedora error";
    }
};

std::string what_of(const diagnostics& d)
{
    // system_error::what() appends ": <ec.message()> [category:value]" to this.
    std::string s = d.message.empty() ? std::string("request failed") : d.message;
    if (d.http_status != 0) {
        s += " (HTTP ";
        s += std::to_string(d.http_status);
        s += ")";
    }
    if (!d.url.empty()) {
        s += " [";
        s += d.url;
        s += "]";
    }
    return s;
}

// The secret name `key` ends with ("" if none). A suffix, not the whole key, because in
// escaped text (a request quoted in a JSON error page) "\r\n_csrf_token" reads as the key
// "n_csrf_token"; masking a little too much is the safe side.
std::string_view secret_key_of(std::string_view key)
{
    static constexpr std::array<std::string_view, 8> secrets = {
        "password", "_csrf_token", "csrf_token", "tg-visit", "session", "auth_tkt",
        "session_id", "authorization"};
    for (auto s : secrets) {
        if (key.size() >= s.size()) {
            const auto tail = key.substr(key.size() - s.size());
            bool same = true;
            for (std::size_t i = 0; i < s.size() && same; ++i)
                same = std::tolower(static_cast<unsigned char>(tail[i])) == s[i];
            if (same)
                return s;
        }
    }
    return {};
}

} // namespace

const boost::system::error_category& error_category() noexcept
{
    static const category instance;
    return instance;
}

error::error(error_code ec, diagnostics diag)
    : boost::system::system_error(ec, what_of(diag)), diag_(std::move(diag))
{
}

std::string mask_secrets(std::string_view text)
{
    // Finds `key=value` and `key: value` pairs anywhere in the text (a query, a form body,
    // a header line, a cookie list) and masks the value when the key names a secret.
    auto is_key_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    };
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_key_char(text[i])) {
            out.push_back(text[i++]);
            continue;
        }
        std::size_t key_start = i;
        while (i < text.size() && is_key_char(text[i]))
            ++i;
        std::string_view key = text.substr(key_start, i - key_start);
        out.append(key);
        // JSON: "key": "value" (a server echoing a request body back in an error page).
        std::size_t sep = i;
        if (sep < text.size() && text[sep] == '"')
            ++sep;
        while (sep < text.size() && text[sep] == ' ' && sep > i)
            ++sep;
        if (sep >= text.size() || (text[sep] != '=' && text[sep] != ':'))
            continue;
        out.append(text.substr(i, sep + 1 - i));
        i = sep + 1;
        while (i < text.size() && text[i] == ' ')
            out.push_back(text[i++]);
        const std::string_view secret = secret_key_of(key);
        if (secret.empty())
            continue;
        if (i < text.size() && text[i] == '"') {
            // A quoted value runs to the closing quote; escapes do not end it.
            out.push_back(text[i++]);
            std::size_t value_start = i;
            while (i < text.size() && text[i] != '"')
                i += text[i] == '\\' ? 2 : 1;
            i = std::min(i, text.size());
            if (i > value_start)
                out.append("***");
            continue;
        }
        // An Authorization value ("Basic xyz") runs to the end of the line.
        const bool whole_line = secret == "authorization";
        std::size_t value_start = i;
        while (i < text.size() && text[i] != '\r' && text[i] != '\n' &&
               (whole_line || (text[i] != '&' && text[i] != ';' && text[i] != ',' && text[i] != ' ')))
            ++i;
        if (i > value_start)
            out.append("***");
    }
    return out;
}

} // namespace fedora
