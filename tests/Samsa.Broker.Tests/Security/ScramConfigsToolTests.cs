namespace Samsa.Broker.Tests.Security;

/// <summary><c>kafka-configs.sh --entity-type users</c> (the built <c>samsa configs</c>) against an in-process broker, with Kafka's output.</summary>
public sealed class ScramConfigsToolTests
{
    [Fact]
    public async Task AddDescribeDelete_AlicesScramCredential_PrintsKafkasLines()
    {
        await using var broker = await TestBroker.StartAsync();
        var bootstrap = $"127.0.0.1:{broker.Port}";

        var add = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--alter",
            "--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-password],SCRAM-SHA-512=[password=alice-secret]",
            "--entity-type", "users", "--entity-name", "alice");
        // Kafka's KRaft controller refuses a user altered twice in one request, whatever the mechanisms.
        Assert.Equal(1, add.ExitCode);
        Assert.Contains("A user credential cannot be altered twice in the same request", add.Err, StringComparison.Ordinal);

        add = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--alter",
            "--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-password]", "--entity-type", "users", "--entity-name", "alice");
        Assert.Equal((0, "Completed updating config for user alice.\n"), (add.ExitCode, add.Out));
        add = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--alter",
            "--add-config", "SCRAM-SHA-512=[password=alice-secret]", "--entity-type", "users", "--entity-name", "alice");
        Assert.Equal((0, "Completed updating config for user alice.\n"), (add.ExitCode, add.Out));

        var describe = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--describe", "--entity-type", "users", "--entity-name", "alice");
        Assert.Equal((0, "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"),
            (describe.ExitCode, describe.Out));

        var delete = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--alter",
            "--delete-config", "SCRAM-SHA-512", "--entity-type", "users", "--entity-name", "alice");
        Assert.Equal((0, "Completed updating config for user alice.\n"), (delete.ExitCode, delete.Out));
        describe = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--describe", "--entity-type", "users");
        Assert.Equal((0, "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n"), (describe.ExitCode, describe.Out));

        describe = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--describe", "--entity-type", "users", "--entity-name", "bob");
        Assert.Equal("Error retrieving SCRAM credential configs for user-principal 'bob': ExecutionException: "
            + "org.apache.kafka.common.errors.ResourceNotFoundException: Attempt to describe a user credential that does not exist\n", describe.Out);

        var weak = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", bootstrap, "--alter",
            "--add-config", "SCRAM-SHA-256=[iterations=1000,password=x]", "--entity-type", "users", "--entity-name", "alice");
        Assert.Equal(1, weak.ExitCode);
        Assert.Contains("Iterations 1000 is less than the minimum 4096 required for SCRAM-SHA-256", weak.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommandConfig_WithSsl_FailsWithOneLine()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "client.properties");
        await File.WriteAllTextAsync(file, "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"alice-password\";\n");
        var result = await BuiltTools.RunCliAsync("configs", "--bootstrap-server", "127.0.0.1:1", "--command-config", file, "--describe", "--entity-type", "users");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("security.protocol=SASL_SSL is not supported by this tool yet", result.Err, StringComparison.Ordinal);
    }
}
