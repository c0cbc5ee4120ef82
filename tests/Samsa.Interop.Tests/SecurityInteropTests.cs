using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 17 with real clients against the server process: the operator policy of SCRAM-SHA-512 users with prefixed
/// ACLs (Strimzi's my-user / order-user / order-user-readonly) through kcat and kafka-python, Kafka's documented
/// SCRAM-SHA-256 flow word for word, two listeners at once (INTERNAL SASL_PLAINTEXT, EXTERNAL SASL_SSL, each with
/// its own advertised address), and TLS / mTLS with certificates made here by openssl.
/// </summary>
public sealed class SecurityInteropTests : IAsyncLifetime
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-security-").FullName;
    private BrokerProcess _broker = null!;
    private int _internal;
    private int _external;

    private string Admin => _broker.Bootstrap;

    private string Ca => Path.Combine(_dir, "ca.pem");

    public async Task InitializeAsync()
    {
        Peers.Require("openssl");
        Peers.Require("kcat");
        await Certificates.CreateAsync(_dir);
        _internal = BrokerProcess.FreePort();
        _external = BrokerProcess.FreePort();
        var port = BrokerProcess.FreePort();
        _broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{port},INTERNAL://127.0.0.1:{_internal},EXTERNAL://127.0.0.1:{_external}",
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{port},INTERNAL://127.0.0.1:{_internal},EXTERNAL://localhost:{_external}",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT",
            ["sasl.enabled.mechanisms"] = "SCRAM-SHA-512,SCRAM-SHA-256",
            ["listener.name.external.ssl.keystore.type"] = "PEM",
            ["listener.name.external.ssl.keystore.location"] = Path.Combine(_dir, "server-keystore.pem"),
            ["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            // The operator's own PLAINTEXT listener (and this node's controller links) administer the cluster.
            ["super.users"] = "User:ANONYMOUS",
            ["auto.create.topics.enable"] = "false",
        }, reusePort: port);
        foreach (var topic in new[] { "my-topic", "edu-topic", "orders", "secret-topic", "scram-test" })
        {
            var created = await Bin("kafka-topics.sh", "--bootstrap-server", Admin, "--create", "--topic", topic, "--partitions", "1");
            Assert.True(created.ExitCode == 0, created.ToString());
        }
        foreach (var user in new[] { "my-user", "order-user", "order-user-readonly" })
        {
            var added = await Bin("kafka-configs.sh", "--bootstrap-server", Admin, "--alter", "--add-config", $"SCRAM-SHA-512=[password={user}-secret]",
                "--entity-type", "users", "--entity-name", user);
            Assert.True(added.ExitCode == 0, added.ToString());
        }
        // Strimzi's policy: my-user ALL on my* and edu* topics and groups; order-user ALL on order*; the read-only
        // user READ/DESCRIBE on order* topics and READ on order* groups.
        await Acl("--allow-principal", "User:my-user", "--operation", "All", "--topic", "my", "--group", "my", "--resource-pattern-type", "prefixed");
        await Acl("--allow-principal", "User:my-user", "--operation", "All", "--topic", "edu", "--group", "edu", "--resource-pattern-type", "prefixed");
        await Acl("--allow-principal", "User:order-user", "--operation", "All", "--topic", "order", "--group", "order", "--resource-pattern-type", "prefixed");
        await Acl("--allow-principal", "User:order-user-readonly", "--operation", "Read", "--operation", "Describe", "--topic", "order", "--resource-pattern-type", "prefixed");
        await Acl("--allow-principal", "User:order-user-readonly", "--operation", "Read", "--group", "order", "--resource-pattern-type", "prefixed");
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task Acl(string first, params string[] rest) => await AclOn(Admin, [first, .. rest]);

    private static async Task AclOn(string bootstrap, string[] args)
    {
        var result = await Bin("kafka-acls.sh", ["--bootstrap-server", bootstrap, .. args, "--add"]);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private string[] Scram(string user, string mechanism = "SCRAM-SHA-512", string? password = null, bool tls = false) =>
    [
        "-b", tls ? $"localhost:{_external}" : $"127.0.0.1:{_internal}", "-X", $"security.protocol={(tls ? "SASL_SSL" : "SASL_PLAINTEXT")}",
        "-X", $"sasl.mechanism={mechanism}", "-X", $"sasl.username={user}", "-X", $"sasl.password={password ?? user + "-secret"}",
        .. (tls ? (string[])["-X", $"ssl.ca.location={Ca}"] : []),
    ];

    private static Task<ProcessResult> Kcat(string[] args, string? stdin = null) => ExternalProcess.RunAsync("kcat", args, ClientTimeout, stdin);

    [Fact]
    public async Task OperatorPolicy_WithKcat_AllowedActionsWork_ForbiddenOnesAreRefused_MetadataListsOnlyAuthorizedTopics()
    {
        var produced = await Kcat([.. Scram("my-user"), "-P", "-t", "my-topic"], "hello from my-user\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var refused = await Kcat([.. Scram("my-user"), "-P", "-t", "orders"], "not allowed\n");
        Assert.Contains("Topic authorization failed", refused.Stdout + refused.Stderr);

        var listing = await Kcat([.. Scram("my-user"), "-L"]);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Contains("topic \"my-topic\"", listing.Stdout);
        Assert.Contains("topic \"edu-topic\"", listing.Stdout);
        Assert.DoesNotContain("orders", listing.Stdout);
        Assert.DoesNotContain("secret-topic", listing.Stdout);

        var consumed = await Kcat([.. Scram("my-user"), "-C", "-t", "my-topic", "-o", "beginning", "-e", "-G", "my-group", "my-topic"]);
        Assert.Contains("hello from my-user", consumed.Stdout);
        var wrongGroup = await Kcat([.. Scram("my-user"), "-C", "-o", "beginning", "-e", "-G", "order-group", "my-topic"]);
        Assert.Contains("Group authorization failed", wrongGroup.Stdout + wrongGroup.Stderr);
    }

    [Fact]
    public async Task OperatorPolicy_WithKafkaPython_ReadOnlyUserReadsOrders_AndIsRefusedWritesAndOtherGroups()
    {
        var produced = await Kcat([.. Scram("order-user"), "-P", "-t", "orders"], "order-1\norder-2\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var script = $$"""
            from kafka import KafkaProducer, KafkaConsumer
            from kafka.errors import TopicAuthorizationFailedError, GroupAuthorizationFailedError, KafkaError
            common = dict(bootstrap_servers='127.0.0.1:{{_internal}}', security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512',
                          sasl_plain_username='order-user-readonly', sasl_plain_password='order-user-readonly-secret')
            c = KafkaConsumer('orders', group_id='order-readers', auto_offset_reset='earliest', consumer_timeout_ms=10000, **common)
            values = sorted(m.value.decode() for m in c)
            c.close()
            print('read', ','.join(values))
            p = KafkaProducer(max_block_ms=10000, **common)
            try:
                p.send('orders', b'forbidden').get(10)
                print('write allowed')
            except TopicAuthorizationFailedError:
                print('write refused: TOPIC_AUTHORIZATION_FAILED')
            try:
                c = KafkaConsumer('orders', group_id='my-group', auto_offset_reset='earliest', consumer_timeout_ms=5000, **common)
                list(c)
                print('group allowed')
            except GroupAuthorizationFailedError:
                print('group refused: GROUP_AUTHORIZATION_FAILED')
            """;
        var result = await ExternalProcess.RunAsync("/usr/bin/python3", ["-c", script], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("read order-1,order-2", result.Stdout);
        Assert.Contains("write refused: TOPIC_AUTHORIZATION_FAILED", result.Stdout);
        Assert.Contains("group refused: GROUP_AUTHORIZATION_FAILED", result.Stdout);
    }

    /// <summary>The same policy through the EXTERNAL SASL_SSL listener with Confluent.Kafka and kafkajs.</summary>
    [Theory]
    [InlineData("confluent")]
    [InlineData("kafkajs")]
    public async Task OperatorPolicy_OverSaslSsl_WithConfluentKafkaAndKafkaJs(string client)
    {
        var bootstrap = $"localhost:{_external}";
        ProcessResult result = client == "confluent"
            ? await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "sasl-policy", bootstrap, "order-user", "order-user-secret", Ca, "orders", "my-topic", "order-group"], ClientTimeout)
            : await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("sasl_policy.js"), bootstrap, Ca, "order-user", "order-user-secret", "orders", "my-topic", "order-group"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]);
        var root = json.RootElement;
        Assert.Equal(client == "confluent" ? "TopicAuthorizationFailed" : "TOPIC_AUTHORIZATION_FAILED", root.GetProperty("forbidden").GetString());
        Assert.Equal(["orders"], root.GetProperty("topics").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.StartsWith("from ", root.GetProperty("read").GetString());
    }

    [Fact]
    public async Task TwoListeners_InternalSaslPlaintext_ExternalSaslSsl_EachClientSeesItsOwnAdvertisedAddress()
    {
        var inside = await Kcat([.. Scram("order-user"), "-L"]);
        Assert.True(inside.ExitCode == 0, inside.ToString());
        Assert.Contains($"broker 1 at 127.0.0.1:{_internal}", inside.Stdout);
        var outside = await Kcat([.. Scram("order-user", tls: true), "-L"]);
        Assert.True(outside.ExitCode == 0, outside.ToString());
        Assert.Contains($"broker 1 at localhost:{_external}", outside.Stdout);
        var produced = await Kcat([.. Scram("order-user", tls: true), "-P", "-t", "orders"], "over tls\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());

        // A client that does not trust the broker's CA refuses the connection; the broker logs the failed handshake.
        var untrusting = await Kcat(["-b", $"localhost:{_external}", "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512",
            "-X", "sasl.username=order-user", "-X", "sasl.password=order-user-secret", "-X", $"ssl.ca.location={Path.Combine(_dir, "other-ca.pem")}", "-L", "-m", "5"]);
        Assert.NotEqual(0, untrusting.ExitCode);
        Assert.Contains("certificate verify failed", untrusting.Stdout + untrusting.Stderr);
        // Hostname verification: the certificate names localhost and 127.0.0.1 only.
        var wrongHost = await Kcat(["-b", $"127.0.0.2:{_external}", "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512",
            "-X", "sasl.username=order-user", "-X", "sasl.password=order-user-secret", "-X", $"ssl.ca.location={Ca}",
            "-X", "ssl.endpoint.identification.algorithm=https", "-L", "-m", "5"]);
        Assert.NotEqual(0, wrongHost.ExitCode);
    }

    [Fact]
    public async Task KafkasScramSha256Flow_WordForWord_ProducerWithJaasConfigSucceeds_WrongPasswordFails()
    {
        var added = await Bin("kafka-configs.sh", "--bootstrap-server", Admin, "--alter", "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=alice-password]", "--entity-type", "users", "--entity-name", "alice");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("Completed updating config for user alice.", added.Stdout);
        await AclOn(Admin, ["--allow-principal", "User:alice", "--producer", "--topic", "scram-test"]);

        var good = Path.Combine(_dir, "alice.properties");
        await File.WriteAllLinesAsync(good,
        [
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=SCRAM-SHA-256",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username='alice' password='alice-password';",
        ]);
        var produced = await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "bin", "kafka-console-producer.sh"),
            ["--bootstrap-server", $"127.0.0.1:{_internal}", "--topic", "scram-test", "--producer.config", good], ClientTimeout, "from alice\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var read = await Kcat(["-b", Admin, "-C", "-t", "scram-test", "-o", "beginning", "-e"]);
        Assert.Contains("from alice", read.Stdout);

        var wrong = await Kcat([.. Scram("alice", "SCRAM-SHA-256", "wrong-password"), "-L", "-m", "5"]);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256", wrong.Stdout + wrong.Stderr);
    }

    /// <summary>TLS without SASL: a required client certificate names the principal (its subject, RFC 2253), which ACLs then govern.</summary>
    [Fact]
    public async Task MutualTls_ClientCertificateIsThePrincipal_NoCertificateIsRefused()
    {
        var tlsPort = BrokerProcess.FreePort();
        var port = BrokerProcess.FreePort();
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{tlsPort}",
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{port},SSL://localhost:{tlsPort}",
            ["ssl.keystore.type"] = "PEM",
            ["ssl.keystore.location"] = Path.Combine(_dir, "server-keystore.pem"),
            ["ssl.truststore.type"] = "PEM",
            ["ssl.truststore.location"] = Ca,
            ["ssl.client.auth"] = "required",
            ["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            ["super.users"] = "User:ANONYMOUS",
        }, reusePort: port);
        var created = await Bin("kafka-topics.sh", "--bootstrap-server", broker.Bootstrap, "--create", "--topic", "mtls", "--partitions", "1");
        Assert.True(created.ExitCode == 0, created.ToString());
        await AclOn(broker.Bootstrap, ["--allow-principal", "User:CN=alice,OU=eng,O=corp", "--operation", "Write", "--operation", "Describe", "--topic", "mtls"]);

        string[] tls = ["-b", $"localhost:{tlsPort}", "-X", "security.protocol=ssl", "-X", $"ssl.ca.location={Ca}"];
        var withCertificate = await Kcat([.. tls, "-X", $"ssl.certificate.location={Path.Combine(_dir, "client.pem")}",
            "-X", $"ssl.key.location={Path.Combine(_dir, "client.key")}", "-P", "-t", "mtls"], "mutual\n");
        Assert.True(withCertificate.ExitCode == 0, withCertificate.ToString());
        var withoutCertificate = await Kcat([.. tls, "-L", "-m", "5"]);
        Assert.NotEqual(0, withoutCertificate.ExitCode);
        var read = await Kcat(["-b", broker.Bootstrap, "-C", "-t", "mtls", "-o", "beginning", "-e"]);
        Assert.Contains("mutual", read.Stdout);
        Assert.True(await broker.WaitForOutputAsync("SSL handshake failed", TimeSpan.FromSeconds(10)), broker.Output);
    }
}

/// <summary>A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made by Debian's openssl.</summary>
internal static class Certificates
{
    public static async Task CreateAsync(string dir)
    {
        async Task Openssl(params string[] args)
        {
            var result = await ExternalProcess.RunAsync("openssl", args, TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        string P(string name) => Path.Combine(dir, name);
        await Openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", P("ca.key"), "-out", P("ca.pem"), "-days", "2", "-subj", "/CN=Samsa Test CA");
        await Openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", P("other-ca.key"), "-out", P("other-ca.pem"), "-days", "2", "-subj", "/CN=Another CA");
        await Openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", P("server.key"), "-out", P("server.csr"), "-subj", "/CN=localhost");
        await File.WriteAllTextAsync(P("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        await Openssl("x509", "-req", "-in", P("server.csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"), "-CAcreateserial", "-out", P("server.pem"),
            "-days", "2", "-extfile", P("san.ext"));
        await File.WriteAllTextAsync(P("server-keystore.pem"), await File.ReadAllTextAsync(P("server.pem")) + await File.ReadAllTextAsync(P("server.key")));
        await Openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", P("client.key"), "-out", P("client.csr"), "-subj", "/O=corp/OU=eng/CN=alice");
        await Openssl("x509", "-req", "-in", P("client.csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"), "-CAcreateserial", "-out", P("client.pem"), "-days", "2");
    }
}
