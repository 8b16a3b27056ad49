#include <fedora/emulator/certificates.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>

namespace fedora::emulator {
namespace {

template <class T, void (*Free)(T*)>
struct deleter
{
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

[[noreturn]] void fail(const char* what)
{
    throw std::runtime_error(std::string("certificate generation failed: ") + what);
}

pkey_ptr new_key()
{
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key)
        fail("EC key");
    return key;
}

std::string to_pem(EVP_PKEY* key)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
        fail("key PEM");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(X509* cert)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(bio.get(), cert))
        fail("certificate PEM");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

pkey_ptr read_key(const std::string& pem)
{
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key)
        fail("reading CA key");
    return key;
}

x509_ptr read_cert(const std::string& pem)
{
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert)
        fail("reading CA certificate");
    return cert;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext)
        fail("extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

long next_serial()
{
    static std::atomic<long> serial{static_cast<long>(::time(nullptr) & 0xffffff) << 8};
    return ++serial;
}

x509_ptr new_cert(EVP_PKEY* key, const std::string& cn, std::chrono::seconds not_before,
                  std::chrono::seconds valid_for)
{
    x509_ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), next_serial());
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                    static_cast<long>((not_before + valid_for).count()));
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("fedora-client test"), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    return cert;
}

} // namespace

pem_pair make_ca(const std::string& common_name)
{
    auto key = new_key();
    auto cert = new_cert(key.get(), common_name, std::chrono::seconds(-3600),
                         std::chrono::seconds(86400L * 3650));
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
        fail("signing CA");
    return {to_pem(key.get()), to_pem(cert.get())};
}

namespace {

// Signs `cert` (holding `key`) with the issuer's key; issuer == nullptr: self-signed.
pem_pair finish_certificate(EVP_PKEY* key, X509* cert, X509* issuer_cert, EVP_PKEY* issuer_key,
                            const cert_request& req)
{
    X509* issuer = issuer_cert ? issuer_cert : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(issuer));
    add_extension(cert, issuer, NID_basic_constraints,
                  req.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (req.is_ca)
        add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, issuer, NID_subject_key_identifier, "hash");
    std::string san;
    for (const auto& d : req.dns_names)
        san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (const auto& ip : req.ip_addresses)
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    if (!req.email.empty())
        san += (san.empty() ? "" : ",") + std::string("email:") + req.email;
    if (!san.empty())
        add_extension(cert, issuer, NID_subject_alt_name, san);
    if (issuer_cert)
        add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always");
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
        fail("signing certificate");
    return {to_pem(key), to_pem(cert)};
}

} // namespace

pem_pair make_certificate(const pem_pair& ca, const cert_request& req)
{
    auto ca_key = read_key(ca.key_pem);
    auto ca_cert = read_cert(ca.cert_pem);
    auto key = new_key();
    auto cert = new_cert(key.get(), req.common_name, req.not_before_offset, req.valid_for);
    return finish_certificate(key.get(), cert.get(), ca_cert.get(), ca_key.get(), req);
}

pem_pair make_self_signed(const cert_request& req)
{
    auto key = new_key();
    auto cert = new_cert(key.get(), req.common_name, req.not_before_offset, req.valid_for);
    return finish_certificate(key.get(), cert.get(), nullptr, nullptr, req);
}

void write_file(const std::string& path, const std::string& text, bool secret)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0)
        throw std::runtime_error("cannot write " + path);
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

} // namespace fedora::emulator
