/*
 * Switchboard's SRTP accelerator: protects outgoing and unprotects incoming RTP packets in place
 * with OpenSSL contexts kept across packets (AES-CTR / AES-GCM re-initialised with the IV only, HMAC-SHA1 from precomputed inner and
 * outer states). OpenSSL comes from the node binary itself (its headers ship with Node, its symbols
 * are exported), so nothing is linked. Loaded by src/media/srtp/native.ts; the TypeScript
 * protectors and unprotectors are the fallback when this is not built.
 *
 * Also sends a fan-out's datagrams with sendmmsg(2) (Linux), one system call per run of datagrams
 * on the same socket, instead of one dgram send (address lookup, request object, syscall) each.
 */
#define _GNU_SOURCE 1
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#define PROFILE_CM 1
#define PROFILE_GCM 7

typedef struct {
  int profile;
  int decrypt; /* an unprotect context (the remote direction) */
  EVP_CIPHER_CTX *cipher;
  uint8_t salt[14];
  SHA_CTX inner; /* state after the ipad block */
  SHA_CTX outer; /* state after the opad block */
} Context;

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Context *c = (Context *)data;
  EVP_CIPHER_CTX_free(c->cipher);
  free(c);
}

#define CHECK(expr)                                                   \
  do {                                                                \
    if ((expr) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "srtp: bad arguments: " #expr);    \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) {
    return 0;
  }
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/* createContext(profile, key[16], salt[>=12], authKey[20] | null, decrypt?) -> external */
static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t profile;
  CHECK(napi_get_value_int32(env, argv[0], &profile));
  uint8_t *key, *salt, *auth = NULL;
  size_t keylen, saltlen, authlen = 0;
  if (!get_buffer(env, argv[1], &key, &keylen) || keylen != 16 || !get_buffer(env, argv[2], &salt, &saltlen) ||
      saltlen < 12 || (profile == PROFILE_CM && (!get_buffer(env, argv[3], &auth, &authlen) || authlen != 20)) ||
      (profile != PROFILE_CM && profile != PROFILE_GCM)) {
    napi_throw_type_error(env, NULL, "srtp: createContext(profile, key16, salt, authKey20)");
    return NULL;
  }
  bool decrypt = false;
  if (argc >= 5) {
    napi_get_value_bool(env, argv[4], &decrypt);
  }
  Context *c = (Context *)calloc(1, sizeof(Context));
  c->profile = profile;
  c->decrypt = decrypt;
  memcpy(c->salt, salt, saltlen > 14 ? 14 : saltlen);
  c->cipher = EVP_CIPHER_CTX_new();
  /* AES-CTR decrypts by encrypting; GCM needs a decrypting context to check the tag. */
  int ok = profile == PROFILE_CM ? EVP_EncryptInit_ex(c->cipher, EVP_aes_128_ctr(), NULL, key, NULL)
           : decrypt             ? EVP_DecryptInit_ex(c->cipher, EVP_aes_128_gcm(), NULL, key, NULL)
                                 : EVP_EncryptInit_ex(c->cipher, EVP_aes_128_gcm(), NULL, key, NULL);
  if (ok && profile == PROFILE_GCM) {
    ok = EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_SET_IVLEN, 12, NULL);
  }
  if (profile == PROFILE_CM) {
    uint8_t pad[64];
    for (int i = 0; i < 64; i++) pad[i] = (i < 20 ? auth[i] : 0) ^ 0x36;
    SHA1_Init(&c->inner);
    SHA1_Update(&c->inner, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = (i < 20 ? auth[i] : 0) ^ 0x5c;
    SHA1_Init(&c->outer);
    SHA1_Update(&c->outer, pad, 64);
  }
  if (!ok) {
    EVP_CIPHER_CTX_free(c->cipher);
    free(c);
    napi_throw_error(env, NULL, "srtp: OpenSSL context setup failed");
    return NULL;
  }
  napi_value ext;
  CHECK(napi_create_external(env, c, finalize, NULL, &ext));
  return ext;
}

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* AES-CM IV (RFC 3711 §4.1.1): salt XOR (SSRC << 64) XOR (index << 16). */
static void cm_iv(const Context *c, uint32_t ssrc, uint32_t roc, uint32_t seq, uint8_t iv[16]) {
  memcpy(iv, c->salt, 14);
  iv[14] = iv[15] = 0;
  uint8_t x[16] = {0};
  put32(x + 4, ssrc);
  put32(x + 8, roc);
  x[12] = seq >> 8;
  x[13] = seq;
  for (int i = 0; i < 16; i++) iv[i] ^= x[i];
}

/* AES-GCM IV (RFC 7714 §8.1): salt XOR (00 00 | SSRC | ROC | SEQ). */
static void gcm_iv(const Context *c, uint32_t ssrc, uint32_t roc, uint32_t seq, uint8_t iv[12]) {
  memcpy(iv, c->salt, 12);
  uint8_t x[12] = {0};
  put32(x + 2, ssrc);
  put32(x + 6, roc);
  x[10] = seq >> 8;
  x[11] = seq;
  for (int i = 0; i < 12; i++) iv[i] ^= x[i];
}

/* HMAC-SHA1 over the packet and the ROC, from the precomputed inner and outer states. */
static void cm_mac(const Context *c, const uint8_t *pkt, uint32_t len, uint32_t roc, uint8_t mac[20]) {
  SHA_CTX s = c->inner;
  uint8_t r[4], inner[20];
  put32(r, roc);
  SHA1_Update(&s, pkt, len);
  SHA1_Update(&s, r, 4);
  SHA1_Final(inner, &s);
  s = c->outer;
  SHA1_Update(&s, inner, 20);
  SHA1_Final(mac, &s);
}

/*
 * The arguments shared by protect and unprotect: argv[0] a context, argv[1] a Buffer, then n - 2
 * uint32s into u. Throws (and returns 0) when one is not what it must be.
 */
static int packet_args(napi_env env, napi_callback_info info, size_t n, Context **c, uint8_t **buf,
                       size_t *buflen, uint32_t *u) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n ||
      napi_get_value_external(env, argv[0], (void **)c) != napi_ok) {
    napi_throw_type_error(env, NULL, "srtp: bad arguments");
    return 0;
  }
  if (!get_buffer(env, argv[1], buf, buflen)) {
    napi_throw_type_error(env, NULL, "srtp: buf must be a Buffer");
    return 0;
  }
  for (size_t i = 2; i < n; i++) {
    if (napi_get_value_uint32(env, argv[i], &u[i - 2]) != napi_ok) {
      napi_throw_type_error(env, NULL, "srtp: bad arguments");
      return 0;
    }
  }
  return 1;
}

/* protect(ctx, buf, off, hdrLen, payloadLen, ssrc, seq, roc) -> protected length (in place) */
static napi_value protect(napi_env env, napi_callback_info info) {
  Context *c;
  uint8_t *buf;
  size_t buflen;
  uint32_t u[6];
  if (!packet_args(env, info, 8, &c, &buf, &buflen, u)) {
    return NULL;
  }
  uint32_t off = u[0], hdr = u[1], len = u[2], ssrc = u[3], seq = u[4], roc = u[5];
  uint32_t tag = c->profile == PROFILE_CM ? 10 : 16;
  if ((size_t)off + hdr + len + (tag > 4 ? tag : 4) > buflen) {
    napi_throw_range_error(env, NULL, "srtp: packet does not fit the buffer");
    return NULL;
  }
  if (c->decrypt) {
    napi_throw_error(env, NULL, "srtp: protect with an unprotect context");
    return NULL;
  }
  uint8_t *pkt = buf + off;
  uint8_t *payload = pkt + hdr;
  int outl = 0;
  if (c->profile == PROFILE_CM) {
    uint8_t iv[16], mac[20];
    cm_iv(c, ssrc, roc, seq, iv);
    EVP_EncryptInit_ex(c->cipher, NULL, NULL, NULL, iv);
    EVP_EncryptUpdate(c->cipher, payload, &outl, payload, (int)len);
    cm_mac(c, pkt, hdr + len, roc, mac);
    memcpy(payload + len, mac, 10);
  } else {
    uint8_t iv[12];
    gcm_iv(c, ssrc, roc, seq, iv);
    EVP_EncryptInit_ex(c->cipher, NULL, NULL, NULL, iv);
    EVP_EncryptUpdate(c->cipher, NULL, &outl, pkt, (int)hdr);
    EVP_EncryptUpdate(c->cipher, payload, &outl, payload, (int)len);
    EVP_EncryptFinal_ex(c->cipher, payload + len, &outl);
    EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_GET_TAG, 16, payload + len);
  }
  napi_value out;
  CHECK(napi_create_uint32(env, hdr + len + tag, &out));
  return out;
}

/*
 * unprotect(ctx, buf, off, len, hdrLen, roc) -> payload length (in place, the tag stripped), or -1
 * when the packet does not authenticate. The caller parsed the header (hdrLen) and chose the
 * rollover counter (RFC 3711 §3.3.1); SSRC and sequence number are read from the header.
 */
static napi_value unprotect(napi_env env, napi_callback_info info) {
  Context *c;
  uint8_t *buf;
  size_t buflen;
  uint32_t u[4];
  if (!packet_args(env, info, 6, &c, &buf, &buflen, u)) {
    return NULL;
  }
  uint32_t off = u[0], len = u[1], hdr = u[2], roc = u[3];
  if (!c->decrypt) {
    napi_throw_error(env, NULL, "srtp: unprotect with a protect context");
    return NULL;
  }
  uint32_t tag = c->profile == PROFILE_CM ? 10 : 16;
  napi_value out;
  if ((size_t)off + len > buflen || hdr < 12 || (size_t)hdr + tag > len) {
    CHECK(napi_create_int32(env, -1, &out));
    return out;
  }
  uint8_t *pkt = buf + off;
  uint8_t *payload = pkt + hdr;
  uint32_t plen = len - hdr - tag;
  uint32_t ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
  uint32_t seq = (uint32_t)pkt[2] << 8 | pkt[3];
  int outl = 0;
  int ok = 1;
  if (c->profile == PROFILE_CM) {
    uint8_t mac[20];
    cm_mac(c, pkt, hdr + plen, roc, mac);
    ok = CRYPTO_memcmp(mac, payload + plen, 10) == 0;
    if (ok) {
      uint8_t iv[16];
      cm_iv(c, ssrc, roc, seq, iv);
      EVP_EncryptInit_ex(c->cipher, NULL, NULL, NULL, iv);
      EVP_EncryptUpdate(c->cipher, payload, &outl, payload, (int)plen);
    }
  } else {
    uint8_t iv[12];
    gcm_iv(c, ssrc, roc, seq, iv);
    /* Decrypted into a copy: a packet that fails the tag keeps its ciphertext. */
    uint8_t stack[2048];
    uint8_t *plain = plen <= sizeof(stack) ? stack : (uint8_t *)malloc(plen);
    ok = plain != NULL && EVP_DecryptInit_ex(c->cipher, NULL, NULL, NULL, iv) &&
         EVP_DecryptUpdate(c->cipher, NULL, &outl, pkt, (int)hdr) &&
         EVP_DecryptUpdate(c->cipher, plain, &outl, payload, (int)plen) &&
         EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_SET_TAG, 16, payload + plen) &&
         EVP_DecryptFinal_ex(c->cipher, plain + outl, &outl) > 0;
    if (ok) {
      memcpy(payload, plain, plen);
    }
    if (plain != NULL && plain != stack) {
      free(plain);
    }
  }
  CHECK(napi_create_int32(env, ok ? (int32_t)plen : -1, &out));
  return out;
}

#ifdef __linux__
#define BATCH_MAX 256

static int typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type type;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    return 0;
  }
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok) {
    return 0;
  }
  return type == want;
}

/*
 * sendBatch(fds: Int32Array, bufs: Buffer[], offs: Uint32Array, lens: Uint32Array,
 *           addrs: Buffer[] (struct sockaddr_in / sockaddr_in6), n) -> index of the first datagram
 * not sent because its socket's buffer was full (EAGAIN), or n. The caller sends the rest the
 * ordinary way (libuv queues them). A datagram the kernel refuses for another reason (unreachable,
 * fd < 0 = socket closed meanwhile) is dropped, like a NIC drop.
 */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t *fds;
  uint32_t *offs, *lens;
  size_t nfds, noffs, nlens;
  uint32_t n;
  if (argc < 6 || !typed_array(env, argv[0], napi_int32_array, (void **)&fds, &nfds) ||
      !typed_array(env, argv[2], napi_uint32_array, (void **)&offs, &noffs) ||
      !typed_array(env, argv[3], napi_uint32_array, (void **)&lens, &nlens) ||
      napi_get_value_uint32(env, argv[5], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "sendBatch: bad arguments");
    return NULL;
  }
  if (n > BATCH_MAX || n > nfds || n > noffs || n > nlens) {
    napi_throw_range_error(env, NULL, "sendBatch: batch too large");
    return NULL;
  }
  struct mmsghdr msgs[BATCH_MAX];
  struct iovec iov[BATCH_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value b, a;
    uint8_t *data, *addr;
    size_t blen, alen;
    CHECK(napi_get_element(env, argv[1], i, &b));
    CHECK(napi_get_element(env, argv[4], i, &a));
    if (!get_buffer(env, b, &data, &blen) || !get_buffer(env, a, &addr, &alen) ||
        (size_t)offs[i] + lens[i] > blen) {
      napi_throw_range_error(env, NULL, "sendBatch: datagram outside its buffer");
      return NULL;
    }
    iov[i].iov_base = data + offs[i];
    iov[i].iov_len = lens[i];
    memset(&msgs[i], 0, sizeof(msgs[i]));
    msgs[i].msg_hdr.msg_name = addr;
    msgs[i].msg_hdr.msg_namelen = (socklen_t)alen;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint32_t i = 0;
  while (i < n) {
    uint32_t run = 1;
    while (i + run < n && fds[i + run] == fds[i]) {
      run++;
    }
    if (fds[i] < 0) {
      i += run;
      continue;
    }
    int r = sendmmsg(fds[i], &msgs[i], run, MSG_DONTWAIT);
    if (r > 0) {
      i += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      i++; /* this datagram was refused: skip it, go on with the next */
    }
  }
  napi_value out;
  CHECK(napi_create_uint32(env, i, &out));
  return out;
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, protect, NULL, NULL, NULL, napi_default, NULL},
      {"unprotect", NULL, unprotect, NULL, NULL, NULL, napi_default, NULL},
#ifdef __linux__
      {"sendBatch", NULL, send_batch, NULL, NULL, NULL, napi_default, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
