#!/usr/bin/env node
// s3rver (the npm package) behind a small front that adds what real S3 does
// and s3rver does not, so citybooks' S3 backend is tested against S3's rules:
//
//   - SigV4 is verified (s3rver accepts any V4 signature): the canonical
//     request is rebuilt from what arrived, the signature and the payload
//     hash (x-amz-content-sha256) must match, and unsigned x-amz-* headers,
//     stale dates and unknown keys are refused with S3's error codes.
//   - Writes are atomic: a request body is forwarded only once it arrived
//     whole, and requests reach s3rver one at a time (s3rver writes objects in
//     place, so a reader could otherwise see half an object).
//   - AbortMultipartUpload (s3rver answers 405) removes the upload's parts.
//   - ListObjectsV2 sorts keys in UTF-8 byte order across pages (s3rver walks
//     folders, which breaks continuation tokens), escapes keys in XML like S3
//     and honours encoding-type=url.
//
// Everything else — buckets, PUT/GET/HEAD/DELETE, ranges, multipart
// create/part/complete, the stored bytes — is s3rver's own.
//
// Tests steer it through /__control/ (unsigned; bucket names cannot start
// with '_'):
//   GET  /__control/log                       one line per request: "METHOD URL STATUS"
//   POST /__control/clear-log
//   POST /__control/fail?status=503&times=2&match=partNumber=
//        the next `times` requests whose "METHOD URL" contains `match` get
//        `status` with an S3 error body (503 SlowDown, 500 InternalError, 429)
//   POST /__control/reset?times=1&match=...   ...get their connection reset
//   POST /__control/hold?after=1&match=partNumber=
//        matching requests after the first `after` are never answered; each
//        held one is logged as "HELD METHOD URL"
//   POST /__control/clear                     drops every fail/reset/hold rule
//
// Usage: node s3_server.js --directory DIR [--port N]
// Prints "listening PORT" once it answers; the credentials are S3RVER/S3RVER.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const S3rver = require('s3rver');

const kCredentials = new Map([['S3RVER', 'S3RVER']]);
const kObjectSuffix = '._S3rver_object';
const kUploadsFolder = '._S3rver_uploads';
const kMaxClockSkewMs = 15 * 60 * 1000;

function parseArguments(argv) {
  const options = {port: 0, directory: ''};
  for (let i = 2; i < argv.length; i += 2) {
    if (argv[i] === '--directory') options.directory = argv[i + 1];
    else if (argv[i] === '--port') options.port = Number(argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!options.directory) throw new Error('--directory is required');
  return options;
}

// --- S3 answers ------------------------------------------------------------

function escapeXml(text) {
  return String(text).replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, c => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case '\'': return '&apos;';
      default: return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

function sendError(res, status, code, message) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + escapeXml(code) +
      '</Code><Message>' + escapeXml(message) + '</Message><RequestId>s3-server-front</RequestId></Error>';
  res.writeHead(status, {'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body)});
  res.end(res.req && res.req.method === 'HEAD' ? undefined : body);
  return status;
}

// --- SigV4 -----------------------------------------------------------------

// RFC 3986 unreserved characters stay; everything else is %XX (upper case),
// as AWS's UriEncode does.
function uriEncode(text, keepSlash) {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function percentDecode(text) {
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.substr(i + 1, 2))) {
      bytes.push(parseInt(text.substr(i + 1, 2), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(text[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function hmac(key, text) {
  return crypto.createHmac('sha256', key).update(text, 'utf8').digest();
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// S3's own canonical form of what arrived: the path decoded and encoded
// once more per segment, query parameters decoded, encoded and sorted.
function canonicalRequest(req, signedHeaders, payloadHash) {
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const canonicalPath = rawPath.split('/').map(s => uriEncode(percentDecode(s), false)).join('/');
  const query = rawQuery === '' ? [] : rawQuery.split('&').map(pair => {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? '' : pair.slice(at + 1);
    return [uriEncode(percentDecode(name), false), uriEncode(percentDecode(value), false)];
  });
  query.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const headers = signedHeaders.map(name => {
    const value = req.headers[name] === undefined ? '' : String(req.headers[name]);
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  });
  return [req.method, canonicalPath, query.map(([n, v]) => `${n}=${v}`).join('&'),
          headers.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

// Returns null when the request is signed correctly, else [status, code, message].
function verifySignature(req, body) {
  const authorization = req.headers['authorization'];
  if (!authorization) return [403, 'AccessDenied', 'Anonymous access is not allowed; sign the request.'];
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization.trim());
  if (!match) return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.'];
  const [accessKeyId, date, region, service, terminator, ...rest] = match[1].split('/');
  if (rest.length || terminator !== 'aws4_request' || service !== 's3' || !/^\d{8}$/.test(date) || !region)
    return [400, 'AuthorizationHeaderMalformed', `The credential scope '${match[1]}' is malformed.`];
  const secret = kCredentials.get(accessKeyId);
  if (secret === undefined)
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date)
    return [403, 'AccessDenied', 'x-amz-date is missing or does not match the credential scope.'];
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
                        +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - when) > kMaxClockSkewMs)
    return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'];
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!payloadHash) return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
  if (payloadHash !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-f]{64}$/.test(payloadHash))
      return [400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.'];
    if (payloadHash !== sha256Hex(body))
      return [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."];
  }
  const signedHeaders = match[2].split(';');
  if (!signedHeaders.includes('host'))
    return [400, 'AuthorizationHeaderMalformed', 'The host header must be signed.'];
  for (const name of signedHeaders) {
    if (req.headers[name] === undefined)
      return [403, 'SignatureDoesNotMatch', `The signed header '${name}' is not in the request.`];
  }
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name))
      return [403, 'AccessDenied', `There were headers present in the request which were not signed: ${name}`];
  }
  const canonical = canonicalRequest(req, signedHeaders, payloadHash);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
  const expected = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (expected !== match[3]) {
    return [403, 'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
  }
  return null;
}

// --- What s3rver lacks -----------------------------------------------------

function bucketOf(url) {
  const pathname = url.split('?')[0];
  const segments = pathname.split('/');
  return {bucket: percentDecode(segments[1] || ''), key: percentDecode(segments.slice(2).join('/'))};
}

function abortMultipartUpload(directory, req, res, query) {
  const {bucket} = bucketOf(req.url);
  if (!fs.existsSync(path.join(directory, bucket)))
    return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
  const uploadId = query.get('uploadId');
  const folder = path.join(directory, bucket, kUploadsFolder, uploadId);
  if (!/^[0-9a-f]+$/.test(uploadId) || !fs.existsSync(folder)) {
    return sendError(res, 404, 'NoSuchUpload',
                     'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
  }
  fs.rmSync(folder, {recursive: true, force: true});
  res.writeHead(204);
  res.end();
  return 204;
}

function listKeys(bucketFolder) {
  const keys = [];
  const walk = relative => {
    for (const entry of fs.readdirSync(path.join(bucketFolder, relative), {withFileTypes: true})) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!(relative === '' && entry.name === kUploadsFolder)) walk(name);
      } else if (entry.name.endsWith(kObjectSuffix)) {
        keys.push(name.slice(0, -kObjectSuffix.length));
      }
    }
  };
  walk('');
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

// encoding-type=url as S3 does it: spaces as '+', '/' kept.
function urlEncodeKey(key) {
  return uriEncode(key, true).replace(/%20/g, '+');
}

function listObjectsV2(directory, req, res, query) {
  const {bucket} = bucketOf(req.url);
  const bucketFolder = path.join(directory, bucket);
  if (!fs.existsSync(bucketFolder))
    return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
  const prefix = query.get('prefix') || '';
  const delimiter = query.get('delimiter') || '';
  const urlEncoding = query.get('encoding-type') === 'url';
  const maxKeysText = query.get('max-keys');
  if (maxKeysText !== null && !/^\d+$/.test(maxKeysText))
    return sendError(res, 400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
  const maxKeys = Math.min(1000, maxKeysText === null ? 1000 : Number(maxKeysText));
  const token = query.get('continuation-token');
  let after = query.get('start-after') || '';
  if (token !== null) {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    if (!decoded.startsWith('after:'))
      return sendError(res, 400, 'InvalidArgument', 'The continuation token provided is incorrect');
    after = decoded.slice('after:'.length);
  }
  const afterBytes = Buffer.from(after, 'utf8');
  const contents = [];
  const commonPrefixes = [];
  let truncated = false;
  let last = '';
  for (const key of listKeys(bucketFolder)) {
    if (!key.startsWith(prefix) || Buffer.compare(Buffer.from(key, 'utf8'), afterBytes) <= 0) continue;
    let entry = {key};
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const common = key.slice(0, at + delimiter.length);
        if (commonPrefixes.includes(common)) continue;
        entry = {prefix: common};
      }
    }
    if (contents.length + commonPrefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (entry.prefix !== undefined) {
      commonPrefixes.push(entry.prefix);
      // Keys under a common prefix are skipped by continuing after it.
      last = entry.prefix + '\u{10FFFF}';
    } else {
      const objectFile = path.join(bucketFolder, key + kObjectSuffix);
      const stat = fs.statSync(objectFile);
      let md5 = '';
      try { md5 = fs.readFileSync(objectFile + '.md5', 'utf8'); } catch (e) { md5 = ''; }
      contents.push({key, size: stat.size, modified: stat.mtime.toISOString(), md5});
      last = key;
    }
  }
  const encode = text => escapeXml(urlEncoding ? urlEncodeKey(text) : text);
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  xml += `<Name>${escapeXml(bucket)}</Name><Prefix>${encode(prefix)}</Prefix>`;
  if (token !== null) xml += `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`;
  else if (query.get('start-after')) xml += `<StartAfter>${encode(after)}</StartAfter>`;
  if (truncated) {
    xml += `<NextContinuationToken>${Buffer.from('after:' + last, 'utf8').toString('base64')}</NextContinuationToken>`;
  }
  xml += `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`;
  if (delimiter) xml += `<Delimiter>${encode(delimiter)}</Delimiter>`;
  if (urlEncoding) xml += '<EncodingType>url</EncodingType>';
  xml += `<IsTruncated>${truncated}</IsTruncated>`;
  for (const object of contents) {
    xml += `<Contents><Key>${encode(object.key)}</Key><LastModified>${object.modified}</LastModified>` +
           `<ETag>&quot;${escapeXml(object.md5)}&quot;</ETag><Size>${object.size}</Size>` +
           '<StorageClass>STANDARD</StorageClass></Contents>';
  }
  for (const common of commonPrefixes) xml += `<CommonPrefixes><Prefix>${encode(common)}</Prefix></CommonPrefixes>`;
  xml += '</ListBucketResult>';
  res.writeHead(200, {'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml)});
  res.end(req.method === 'HEAD' ? undefined : xml);
  return 200;
}

// --- The front -------------------------------------------------------------

async function main() {
  const options = parseArguments(process.argv);
  fs.mkdirSync(options.directory, {recursive: true});
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
  });
  const inner = await s3rver.run();
  const innerAgent = new http.Agent({keepAlive: true, maxSockets: 4});

  const log = [];
  let rules = [];  // {kind: 'fail'|'reset'|'hold', status, times, after, match, seen}
  let queue = Promise.resolve();
  // One request at a time reaches s3rver.
  const serialized = work => {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  };

  const record = line => log.push(line);

  const forward = (req, res, body) => new Promise(resolve => {
    const headers = {...req.headers, 'content-length': String(body.length)};
    delete headers['transfer-encoding'];
    const upstream = http.request({host: '127.0.0.1', port: inner.port, method: req.method, path: req.url,
                                   headers, agent: innerAgent}, answer => {
      // s3rver answers a range of an empty object with 206 "bytes 0-0/0"
      // and a Content-Length of 1 it never sends; S3 says 416 InvalidRange.
      if (answer.statusCode === 206 && /\/0$/.test(answer.headers['content-range'] || '')) {
        answer.destroy();
        resolve(sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable'));
        return;
      }
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve(answer.statusCode);
        }
      };
      res.on('finish', finish);
      res.on('close', finish);
    });
    upstream.on('error', error => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', `s3rver failed: ${error.message}`);
      else res.destroy();
      resolve(500);
    });
    upstream.end(body);
  });

  const control = (req, res, url) => {
    const query = url.searchParams;
    const reply = (status, text) => {
      res.writeHead(status, {'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text)});
      res.end(text);
    };
    switch (url.pathname) {
      case '/__control/log': return reply(200, log.map(line => line + '\n').join(''));
      case '/__control/clear-log': log.length = 0; return reply(200, 'ok');
      case '/__control/clear': rules = []; return reply(200, 'ok');
      case '/__control/fail':
      case '/__control/reset':
      case '/__control/hold':
        rules.push({
          kind: url.pathname.slice('/__control/'.length),
          status: Number(query.get('status') || 503),
          times: Number(query.get('times') || 1),
          after: Number(query.get('after') || 0),
          match: query.get('match') || '',
          seen: 0,
        });
        return reply(200, 'ok');
      default: return reply(404, 'unknown control path');
    }
  };

  // The first rule that applies to `line`, counting it as used.
  const ruleFor = line => {
    for (const rule of rules) {
      if (!line.includes(rule.match)) continue;
      if (rule.kind === 'hold') {
        rule.seen++;
        if (rule.seen > rule.after) return rule;
        continue;
      }
      if (rule.times > 0) {
        rule.times--;
        return rule;
      }
    }
    return null;
  };

  const handle = async (req, res, body) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/__control/')) return control(req, res, url);
    const line = `${req.method} ${req.url}`;
    const rule = ruleFor(line);
    if (rule && rule.kind === 'hold') {
      record(`HELD ${line}`);
      return;  // never answered; the client gives up or dies
    }
    if (rule && rule.kind === 'reset') {
      record(`${line} reset injected`);
      req.socket.destroy();
      return;
    }
    if (rule && rule.kind === 'fail') {
      const codes = {500: 'InternalError', 503: 'SlowDown', 429: 'TooManyRequests'};
      sendError(res, rule.status, codes[rule.status] || 'InternalError', 'Injected by the test.');
      record(`${line} ${rule.status} injected`);
      return;
    }
    const refused = verifySignature(req, body);
    if (refused) {
      record(`${line} ${sendError(res, ...refused)}`);
      return;
    }
    const status = await serialized(async () => {
      const query = url.searchParams;
      const {bucket, key} = bucketOf(req.url);
      if (req.method === 'DELETE' && key && query.has('uploadId'))
        return abortMultipartUpload(options.directory, req, res, query);
      if ((req.method === 'GET' || req.method === 'HEAD') && bucket && !key && query.get('list-type') === '2')
        return listObjectsV2(options.directory, req, res, query);
      return forward(req, res, body);
    });
    record(`${line} ${status}`);
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    let aborted = false;
    req.on('data', chunk => chunks.push(chunk));
    req.on('aborted', () => { aborted = true; });
    req.on('error', () => { aborted = true; });
    // A body cut short (a killed client) is never forwarded.
    req.on('end', () => {
      if (aborted) return;
      handle(req, res, Buffer.concat(chunks)).catch(error => {
        if (!res.headersSent) sendError(res, 500, 'InternalError', String(error && error.message));
      });
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(options.port, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  const stop = () => {
    server.close();
    s3rver.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(error => {
  process.stderr.write(`s3_server.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
