using Confluent.Kafka;

/// <summary>
/// <c>sasl-policy USER PASSWORD CA_FILE ALLOWED_TOPIC FORBIDDEN_TOPIC GROUP</c>: Confluent.Kafka over SASL_SSL with
/// SCRAM-SHA-512 (issue 17's operator policy). Produces to the allowed topic, tries the forbidden one, lists the topics
/// Metadata shows, and reads the allowed topic in GROUP; prints one JSON object.
/// </summary>
internal static class SaslPolicyScenario
{
    public static async Task<object> RunAsync(string bootstrap, string user, string password, string caFile, string allowed, string forbidden, string group)
    {
        void Secure(ClientConfig config)
        {
            config.BootstrapServers = bootstrap;
            config.SecurityProtocol = SecurityProtocol.SaslSsl;
            config.SaslMechanism = SaslMechanism.ScramSha512;
            config.SaslUsername = user;
            config.SaslPassword = password;
            config.SslCaLocation = caFile;
        }
        var producerConfig = new ProducerConfig { Acks = Acks.All, MessageTimeoutMs = 15000 };
        Secure(producerConfig);
        using var producer = new ProducerBuilder<Null, string>(producerConfig).Build();
        var delivered = await producer.ProduceAsync(allowed, new Message<Null, string> { Value = $"from Confluent.Kafka as {user}" });
        string forbiddenError;
        try
        {
            await producer.ProduceAsync(forbidden, new Message<Null, string> { Value = "must be refused" });
            forbiddenError = "none";
        }
        catch (ProduceException<Null, string> e)
        {
            forbiddenError = e.Error.Code.ToString();
        }

        var adminConfig = new AdminClientConfig();
        Secure(adminConfig);
        using var admin = new AdminClientBuilder(adminConfig).Build();
        var topics = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).Where(t => !t.StartsWith("__", StringComparison.Ordinal)).Order().ToList();

        var consumerConfig = new ConsumerConfig { GroupId = group, AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false };
        Secure(consumerConfig);
        using var consumer = new ConsumerBuilder<Ignore, string>(consumerConfig).Build();
        consumer.Subscribe(allowed);
        var read = consumer.Consume(TimeSpan.FromSeconds(20))?.Message.Value;
        consumer.Close();
        return new { delivered = delivered.Status.ToString(), forbidden = forbiddenError, topics, read };
    }
}
