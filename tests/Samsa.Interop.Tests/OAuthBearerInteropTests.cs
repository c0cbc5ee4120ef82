using System.Security.Cryptography;
using Samsa.Broker.Tests.Security;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// SASL/OAUTHBEARER (issue 17) with real clients against the server process, one broker with two SASL_PLAINTEXT
/// listeners: UNSECURED keeps Kafka's default validator, which kcat (librdkafka 2.0) satisfies with its built-in
/// unsecured JWT; SECURED runs Kafka's OAuthBearerValidatorCallbackHandler against a JWKS file, and
/// confluent-kafka-python 1.7 logs in through <c>oauth_cb</c> with tokens signed here: a good one produces and
/// consumes, one for another audience is refused.
/// </summary>
public sealed class OAuthBearerInteropTests : IAsyncLifetime
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-oauth-").FullName;
    private readonly RSA _key = RSA.Create(2048);
    private BrokerProcess _broker = null!;
    private int _unsecured;
    private int _secured;

    public async Task InitializeAsync()
    {
        Peers.Require("kcat");
        var jwks = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, TestJwts.Jwks(("test-key", _key)));
        var port = BrokerProcess.FreePort();
        _unsecured = BrokerProcess.FreePort();
        _secured = BrokerProcess.FreePort();
        _broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{port},UNSECURED://127.0.0.1:{_unsecured},SECURED://127.0.0.1:{_secured}",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,UNSECURED:SASL_PLAINTEXT,SECURED:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            ["sasl.enabled.mechanisms"] = "OAUTHBEARER",
            ["listener.name.unsecured.oauthbearer.sasl.jaas.config"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
            ["listener.name.secured.oauthbearer.sasl.server.callback.handler.class"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
            ["listener.name.secured.oauthbearer.sasl.oauthbearer.jwks.endpoint.url"] = "file://" + jwks,
            ["listener.name.secured.oauthbearer.sasl.oauthbearer.expected.audience"] = "kafka",
            ["listener.name.secured.oauthbearer.sasl.oauthbearer.expected.issuer"] = "https://idp.example",
            ["connections.max.reauth.ms"] = "3600000",
        }, reusePort: port);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _key.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<ProcessResult> Kcat(string[] args, string? stdin = null) => ExternalProcess.RunAsync("kcat", args, ClientTimeout, stdin);

    [Fact]
    public async Task Kcat_LibrdkafkasUnsecuredJwt_ProducesAndConsumes()
    {
        string[] oauth =
        [
            "-b", $"127.0.0.1:{_unsecured}", "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=OAUTHBEARER",
            "-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-X", "sasl.oauthbearer.config=principal=alice",
        ];
        var produced = await Kcat([.. oauth, "-P", "-t", "oauth-unsecured"], "hello over oauthbearer\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var consumed = await Kcat([.. oauth, "-C", "-t", "oauth-unsecured", "-o", "beginning", "-e"]);
        Assert.True(consumed.ExitCode == 0, consumed.ToString());
        Assert.Contains("hello over oauthbearer", consumed.Stdout);
    }

    private async Task<ProcessResult> ConfluentPython(string token, bool expectAllowed)
    {
        const string Script = """
            import sys, time
            from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException, OFFSET_BEGINNING
            bootstrap, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
            errors = []
            conf = {'bootstrap.servers': bootstrap, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER',
                    'oauth_cb': lambda _: (token, time.time() + 300), 'error_cb': lambda e: errors.append(str(e))}
            p = Producer(conf)
            # The client asks oauth_cb for its token from poll(): serve it before anything needs a connection.
            p.poll(1)
            if mode == 'allowed':
                p.produce('oauth-secured', b'signed hello')
                print('unflushed', p.flush(30))
                c = Consumer(dict(conf, **{'group.id': 'oauth-readers', 'enable.auto.commit': False}))
                c.assign([TopicPartition('oauth-secured', 0, OFFSET_BEGINNING)])
                deadline = time.time() + 30
                while time.time() < deadline:
                    m = c.poll(1)
                    if m is not None and m.error() is None:
                        print('consumed', m.value().decode())
                        break
                c.close()
            else:
                try:
                    p.list_topics(timeout=10)
                    print('metadata allowed')
                except KafkaException as e:
                    print('metadata refused', e)
                p.poll(2)
            print('errors', errors)
            """;
        return await ExternalProcess.RunAsync("/usr/bin/python3",
            ["-c", Script, $"127.0.0.1:{_secured}", token, expectAllowed ? "allowed" : "refused"], ClientTimeout);
    }

    private Dictionary<string, object?> Claims(string audience) =>
        TestJwts.Claims("svc-orders", 600, ("iss", "https://idp.example"), ("aud", audience), ("scope", "kafka"));

    [Fact]
    public async Task ConfluentPython_SignedToken_ProducesAndConsumes_WrongAudienceIsRefused()
    {
        var allowed = await ConfluentPython(TestJwts.Rs256(_key, "test-key", Claims("kafka")), expectAllowed: true);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Contains("unflushed 0", allowed.Stdout);
        Assert.Contains("consumed signed hello", allowed.Stdout);

        var refused = await ConfluentPython(TestJwts.Rs256(_key, "test-key", Claims("not-kafka")), expectAllowed: false);
        Assert.True(refused.ExitCode == 0, refused.ToString());
        Assert.Contains("metadata refused", refused.Stdout);
        Assert.True((refused.Stdout + refused.Stderr).Contains("invalid_token", StringComparison.Ordinal), refused.ToString());
    }
}
