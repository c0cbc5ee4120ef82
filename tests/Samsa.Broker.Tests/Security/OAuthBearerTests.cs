using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;
using Samsa.Broker.Security.Sasl.OAuthBearer;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Broker.Tests.Security.TestJwts;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// SASL/OAUTHBEARER (RFC 7628, KIP-255): Kafka's client initial response and its errors, the JSON error challenge
/// answered by <c>\x01</c>, the unsecured validator with its JAAS options, the JWKS validator with RS256 and ES256 keys
/// made here (JWKS in a temp file and over http), and over a real socket the KIP-368 session bounded by the token.
/// </summary>
public sealed class OAuthBearerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-oauth-").FullName;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly List<JwksKeyResolver> _resolvers = [];

    public void Dispose()
    {
        _resolvers.ForEach(r => r.Dispose());
        _rsa.Dispose();
        _ec.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static OAuthBearerSaslServer Unsecured(params (string, string)[] options) =>
        new(new OAuthBearerUnsecuredValidator(options.ToDictionary(o => o.Item1, o => o.Item2), TimeProvider.System), TimeProvider.System);

    private static byte[] Message(string token, string authzid = "") => OAuthBearerClientInitialResponse.Format(token, authzid);

    /// <summary>Runs a refused token through Kafka's flow: the JSON challenge, then the client's \x01, then the failure.</summary>
    private static string RefusedChallenge(ISaslServer server, string token)
    {
        var challenge = Encoding.UTF8.GetString(server.EvaluateResponse(Message(token)));
        Assert.False(server.IsComplete);
        var e = Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse([0x01]));
        Assert.Equal(challenge, e.Message);
        return challenge;
    }

    [Fact]
    public void Unsecured_GoodToken_CompletesAsSub_WithTheTokensLifetime()
    {
        var server = Unsecured();
        Assert.Empty(server.EvaluateResponse(Message(TestJwts.Unsecured(Claims("alice", 600)), "alice")));
        Assert.True(server.IsComplete);
        Assert.Equal("alice", server.AuthorizationId);
        Assert.InRange(server.CredentialLifetimeMs!.Value, 590_000, 600_000);
    }

    [Fact]
    public void Unsecured_JaasOptions_PrincipalClaim_Scope_AndClockSkew()
    {
        var server = Unsecured(("unsecuredValidatorPrincipalClaimName", "user"), ("unsecuredValidatorRequiredScope", "read write"),
            ("unsecuredValidatorAllowableClockSkewMs", "10000"));
        // Expired two seconds ago, inside the ten seconds of skew: accepted, with a session that ends at once.
        var token = TestJwts.Unsecured(Claims("ignored", -2, ("iat", null), ("user", "bob"), ("scope", "write read admin")));
        Assert.Empty(server.EvaluateResponse(Message(token)));
        Assert.Equal("bob", server.AuthorizationId);
        Assert.Equal(1, server.CredentialLifetimeMs);

        var listScope = Unsecured(("unsecuredValidatorRequiredScope", "read"));
        listScope.EvaluateResponse(Message(TestJwts.Unsecured(Claims(extra: ("scope", new[] { "read", "other" })))));
        Assert.True(listScope.IsComplete);
    }

    public static TheoryData<string> RefusedUnsecuredTokens() => new()
    {
        TestJwts.Unsecured(Claims(expiresInSeconds: -1)),
        TestJwts.Unsecured(Claims(expiresInSeconds: null)),
        TestJwts.Unsecured(Claims(extra: ("sub", null))),
        TestJwts.Unsecured(Claims(extra: ("sub", "  "))),
        TestJwts.Unsecured(Claims(extra: ("sub", 42))),
        TestJwts.Unsecured(Claims(extra: ("iat", NowSeconds + 600))),
        TestJwts.Unsecured(Claims(extra: ("exp", "tomorrow"))),
        TestJwts.Unsecured(Claims()) + "c2lnbmF0dXJl",
        "eyJhbGciOiJSUzI1NiJ9." + TestJwts.Unsecured(Claims()).Split('.')[1] + ".",
        "not-base64!.e30.",
        "bm90IGpzb24.bm90IGpzb24.",
        "WzFd.WzFd.",
        "e30.e30",
        "a.b.c.d",
    };

    [Theory]
    [MemberData(nameof(RefusedUnsecuredTokens))]
    public void Unsecured_RefusedTokens_GetTheInvalidTokenChallenge_ThenFail(string token)
    {
        // Tokens with characters outside the Bearer token grammar fail earlier, on the framing.
        var server = Unsecured();
        if (token.Contains('!'))
        {
            Assert.Equal("Invalid OAUTHBEARER client first message: invalid 'auth' format",
                Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(Message(token))).Message);
            return;
        }
        Assert.Equal("{\"status\":\"invalid_token\"}", RefusedChallenge(server, token));
    }

    [Fact]
    public void Unsecured_WrongScope_IsInsufficientScope()
    {
        var server = Unsecured(("unsecuredValidatorRequiredScope", "produce consume"));
        Assert.Equal("{\"status\":\"insufficient_scope\", \"scope\":\"produce consume\"}",
            RefusedChallenge(server, TestJwts.Unsecured(Claims(extra: ("scope", "produce")))));
    }

    [Fact]
    public void ErrorChallenge_ThenANewTokenInsteadOfControlA_IsEvaluatedAfresh()
    {
        var server = Unsecured();
        Assert.NotEmpty(server.EvaluateResponse(Message(TestJwts.Unsecured(Claims(expiresInSeconds: -5)))));
        Assert.Empty(server.EvaluateResponse(Message(TestJwts.Unsecured(Claims("carol")))));
        Assert.Equal("carol", server.AuthorizationId);
    }

    [Theory]
    [InlineData("", "Invalid OAUTHBEARER client first message")]
    [InlineData("\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("y,,\u0001auth=Bearer abc\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,auth=Bearer abc\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,\u0001auth=Bearer abc\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,a=,\u0001auth=Bearer abc\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,b=x,\u0001auth=Bearer abc\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,\u0001auth=Bearer abc\u00019key=v\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,\u0001auth=Bearer abc\u0001key=\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,\u0001auth=Bearer ab\u00e9\u0001\u0001", "Invalid OAUTHBEARER client first message")]
    [InlineData("n,,\u0001\u0001", "Invalid OAUTHBEARER client first message: 'auth' not specified")]
    [InlineData("n,,\u0001key=v\u0001\u0001", "Invalid OAUTHBEARER client first message: 'auth' not specified")]
    [InlineData("n,,\u0001auth=Bearer\u0001\u0001", "Invalid OAUTHBEARER client first message: invalid 'auth' format")]
    [InlineData("n,,\u0001auth=Bearer a+b\u0001\u0001", "Invalid OAUTHBEARER client first message: invalid 'auth' format")]
    [InlineData("n,,\u0001auth=Basic YWxpY2U\u0001\u0001", "Invalid scheme in OAUTHBEARER client first message: Basic")]
    public void MalformedFraming_FailsAtOnce_WithKafkasMessages(string message, string expected)
    {
        var server = Unsecured();
        Assert.Equal(expected, Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(Encoding.Latin1.GetBytes(message))).Message);
        Assert.False(server.IsComplete);
        // The exchange is over: a \x01 (or anything) after it fails too.
        Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse([0x01]));
    }

    [Fact]
    public void Oversized_IsRefusedBeforeParsing()
    {
        var token = TestJwts.Unsecured(Claims(extra: ("padding", new string('x', OAuthBearerSaslServer.MaxResponseBytes))));
        var e = Assert.Throws<SaslAuthenticationException>(() => Unsecured().EvaluateResponse(Message(token)));
        Assert.Contains($"is more than {OAuthBearerSaslServer.MaxResponseBytes}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AuthorizationIdOtherThanThePrincipal_IsRefused_AndExtensionsAreKept()
    {
        var e = Assert.Throws<SaslAuthenticationException>(() => Unsecured().EvaluateResponse(Message(TestJwts.Unsecured(Claims("alice")), "mallory")));
        Assert.Equal("Authentication failed: Client requested an authorization id (mallory) that is different from the token's principal name (alice)", e.Message);

        var server = Unsecured();
        var extensions = new Dictionary<string, string> { ["traceId"] = "abc=123", ["logicalCluster"] = "lkc 1" };
        server.EvaluateResponse(OAuthBearerClientInitialResponse.Format(TestJwts.Unsecured(Claims()), "", extensions));
        Assert.Equal(extensions, server.Extensions);
        Assert.Equal("n,,\u0001auth=Bearer t\u0001\u0001", Encoding.ASCII.GetString(Message("t")));
    }

    private string JwksFile(params (string Kid, AsymmetricAlgorithm Key)[] keys)
    {
        var path = Path.Combine(_dir, $"jwks-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Jwks(keys));
        return path;
    }

    private OAuthBearerSaslServer Secured(string? issuer = "https://idp.example", string[]? audience = null, string subClaim = "sub")
    {
        var keys = new JwksKeyResolver("file://" + JwksFile(("rsa-1", _rsa), ("ec-1", _ec)), TimeSpan.FromHours(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), NullLogger.Instance);
        _resolvers.Add(keys);
        var validator = new OAuthBearerJwksValidator(keys, new OAuthBearerJwksValidator.Options(issuer, audience ?? ["kafka"], subClaim, "scope", 30), TimeProvider.System);
        return new OAuthBearerSaslServer(validator, TimeProvider.System);
    }

    private static Dictionary<string, object?> Idp(string sub = "alice", long expiresIn = 300, params (string, object?)[] extra) =>
        Claims(sub, expiresIn, [("iss", "https://idp.example"), ("aud", "kafka"), .. extra]);

    [Fact]
    public void Jwks_Rs256AndEs256_GoodTokens_Complete_WithTheLifetime()
    {
        var rs = Secured();
        Assert.Empty(rs.EvaluateResponse(Message(Rs256(_rsa, "rsa-1", Idp("alice", 300)))));
        Assert.Equal("alice", rs.AuthorizationId);
        Assert.InRange(rs.CredentialLifetimeMs!.Value, 290_000, 300_000);

        var es = Secured();
        Assert.Empty(es.EvaluateResponse(Message(Es256(_ec, "ec-1", Idp("bob", 120, ("aud", new[] { "other", "kafka" }))))));
        Assert.Equal("bob", es.AuthorizationId);

        var custom = Secured(subClaim: "client_id");
        custom.EvaluateResponse(Message(Es256(_ec, "ec-1", Idp(extra: ("client_id", "svc-orders")))));
        Assert.Equal("svc-orders", custom.AuthorizationId);
    }

    [Fact]
    public void Jwks_RefusedTokens_GetTheInvalidTokenChallenge()
    {
        using var otherRsa = RSA.Create(2048);
        using var otherEc = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string[] refused =
        [
            Rs256(_rsa, "rsa-1", Idp(extra: ("iss", "https://evil.example"))),
            Rs256(_rsa, "rsa-1", Idp(extra: ("iss", null))),
            Rs256(_rsa, "rsa-1", Idp(extra: ("aud", "not-kafka"))),
            Rs256(_rsa, "rsa-1", Idp(extra: ("aud", null))),
            Rs256(_rsa, "rsa-2", Idp()),
            Rs256(otherRsa, "rsa-1", Idp()),
            Es256(otherEc, "ec-1", Idp()),
            Es256(_ec, "rsa-1", Idp()),
            Rs256(_rsa, "rsa-1", Idp(expiresIn: -31)),
            Rs256(_rsa, "rsa-1", Idp(extra: ("iat", null))),
            Rs256(_rsa, "rsa-1", Idp(extra: ("nbf", NowSeconds + 600))),
            Rs256(_rsa, "rsa-1", Idp(extra: ("sub", null))),
            TestJwts.Unsecured(Idp()),
            Rs256(_rsa, "rsa-1", Idp())[..^4],
        ];
        foreach (var token in refused)
        {
            Assert.Equal("{\"status\":\"invalid_token\"}", RefusedChallenge(Secured(), token));
        }
        // jose4j's rule, kept by Kafka: with no expected audience, a token naming one is refused; without one it passes.
        Assert.Equal("{\"status\":\"invalid_token\"}", RefusedChallenge(Secured(audience: []), Rs256(_rsa, "rsa-1", Idp())));
        var noAudience = Secured(issuer: null, audience: []);
        noAudience.EvaluateResponse(Message(Rs256(_rsa, "rsa-1", Claims("dave"))));
        Assert.Equal("dave", noAudience.AuthorizationId);
    }

    [Fact]
    public void Jwks_NoKid_UsesTheOnlyKeyOfThatType()
    {
        var server = Secured();
        server.EvaluateResponse(Message(Rs256(_rsa, null, Idp())));
        Assert.True(server.IsComplete);
    }

    [Fact]
    public async Task Jwks_OverHttp_FetchedInTheBackground_AndRefreshedForAnUnknownKid()
    {
        var port = FreePort();
        using var http = new HttpListener();
        http.Prefixes.Add($"http://127.0.0.1:{port}/");
        http.Start();
        var served = Jwks(("rsa-1", _rsa));
        var serving = Task.Run(async () =>
        {
            while (http.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await http.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var body = Encoding.UTF8.GetBytes(Volatile.Read(ref served));
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });
        using var keys = new JwksKeyResolver($"http://127.0.0.1:{port}/jwks", TimeSpan.FromHours(1), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), NullLogger.Instance);
        var validator = new OAuthBearerJwksValidator(keys, new OAuthBearerJwksValidator.Options(null, []), TimeProvider.System);
        await WaitUntilAsync(() => keys.KeyCount == 1);
        Assert.Equal("alice", validator.Validate(Rs256(_rsa, "rsa-1", Claims())).PrincipalName);

        // The provider rotates to an EC key: the first token with the new kid is refused and asks for a refresh.
        Volatile.Write(ref served, Jwks(("rsa-1", _rsa), ("ec-2", _ec)));
        var rotated = Es256(_ec, "ec-2", Claims("bob"));
        Assert.Throws<OAuthBearerValidationException>(() => validator.Validate(rotated));
        await WaitUntilAsync(() => keys.KeyCount == 2);
        Assert.Equal("bob", validator.Validate(rotated).PrincipalName);
        http.Stop();
        await serving;
    }

    [Fact]
    public void Factory_SecuredHandlerPerListener_AndConfigErrors()
    {
        var jwks = JwksFile(("rsa-1", _rsa));
        var config = KafkaConfig.FromProperties(new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "OAUTHBEARER",
            ["listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class"] = SaslServerFactory.SecuredValidatorHandler,
            ["listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url"] = "file:" + jwks,
            ["sasl.oauthbearer.expected.audience"] = "kafka,other",
            ["sasl.oauthbearer.expected.issuer"] = "https://idp.example",
        });
        using var factory = new SaslServerFactory(config, new MetadataCache(MetadataImage.Empty("c")));
        Assert.Equal(["OAUTHBEARER"], factory.EnabledMechanisms("SASL_PLAINTEXT"));
        var secured = factory.Create("SASL_PLAINTEXT", "OAUTHBEARER")!;
        secured.EvaluateResponse(Message(Rs256(_rsa, "rsa-1", Idp("erin"))));
        Assert.Equal("erin", secured.AuthorizationId);
        // Another listener keeps Kafka's default, the unsecured validator, which refuses a signed token.
        var unsecured = factory.Create("PLAINTEXT", "OAUTHBEARER")!;
        Assert.NotEmpty(unsecured.EvaluateResponse(Message(Rs256(_rsa, "rsa-1", Idp("erin")))));

        Assert.Contains("is not supported for OAUTHBEARER", Assert.Throws<ConfigException>(() => new SaslServerFactory(KafkaConfig.FromProperties(new Dictionary<string, string>
        {
            ["listeners"] = "SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "OAUTHBEARER",
            ["sasl.server.callback.handler.class"] = "com.example.MyHandler",
        }), new MetadataCache(MetadataImage.Empty("c")))).Message, StringComparison.Ordinal);
        Assert.Contains("needs sasl.oauthbearer.jwks.endpoint.url", Assert.Throws<ConfigException>(() => new SaslServerFactory(KafkaConfig.FromProperties(new Dictionary<string, string>
        {
            ["listeners"] = "SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "OAUTHBEARER",
            ["sasl.server.callback.handler.class"] = SaslServerFactory.SecuredValidatorHandler,
        }), new MetadataCache(MetadataImage.Empty("c")))).Message, StringComparison.Ordinal);
        Assert.Contains("Invalid JWKS file", Assert.Throws<ConfigException>(() => new JwksKeyResolver("file:" + Path.Combine(_dir, "missing.json"),
            TimeSpan.FromHours(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), NullLogger.Instance)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverASocket_SessionLifetimeIsBoundedByTheTokensExpiry_AndARefusedTokenClosesTheConnection()
    {
        await using var broker = await TestBroker.StartAsync(
            ("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"),
            ("sasl.enabled.mechanisms", "OAUTHBEARER"),
            ("listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope=\"kafka\";"),
            ("connections.max.reauth.ms", "3600000"),
            ("connection.failed.authentication.delay.ms", "0"));
        var port = broker.Broker.BoundEndpoints.Single(e => e.ListenerName == "SASL_PLAINTEXT").Port;

        await using (var client = await TestClient.ConnectAsync(port))
        {
            var (_, handshake) = await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "OAUTHBEARER" }, 1);
            Assert.Equal(0, handshake.ErrorCode);
            Assert.Equal(["OAUTHBEARER"], handshake.Mechanisms);
            var token = TestJwts.Unsecured(Claims("alice", 120, ("scope", "kafka")));
            var (_, authenticated) = await client.RequestAsync<SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = Message(token) }, 2, 2);
            Assert.Equal(0, authenticated.ErrorCode);
            Assert.InRange(authenticated.SessionLifetimeMs, 110_000, 120_000);
            var (_, metadata) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12, 3);
            Assert.NotEmpty(metadata.Brokers);
        }

        await using (var client = await TestClient.ConnectAsync(port))
        {
            await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "OAUTHBEARER" }, 1);
            var token = TestJwts.Unsecured(Claims("alice", 120, ("scope", "other")));
            var (_, challenge) = await client.RequestAsync<SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = Message(token) }, 2, 2);
            Assert.Equal(0, challenge.ErrorCode);
            Assert.Equal("{\"status\":\"insufficient_scope\", \"scope\":\"kafka\"}", Encoding.UTF8.GetString(challenge.AuthBytes));
            var (_, failed) = await client.RequestAsync<SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = [0x01] }, 2, 3);
            Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, failed.ErrorCode);
            Assert.Equal("{\"status\":\"insufficient_scope\", \"scope\":\"kafka\"}", failed.ErrorMessage);
            Assert.True(await client.WaitForCloseAsync());
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
