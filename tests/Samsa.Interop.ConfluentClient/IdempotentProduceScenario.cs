using System.Globalization;
using System.Text;
using Confluent.Kafka;

/// <summary>
/// <c>idempotent-produce BOOTSTRAP TOPIC COUNT</c>: Confluent.Kafka with <c>EnableIdempotence = true</c> and otherwise
/// its defaults (librdkafka then takes acks=all and up to 5 requests in flight per broker) produces COUNT records,
/// key <c>k{i}</c> and value <c>{i}</c>, spread over the topic's partitions by the default partitioner. Prints one JSON
/// object with the count delivered; exits 1 on any delivery error, or on a fatal error from the idempotent producer.
/// </summary>
internal static class IdempotentProduceScenario
{
    public static int Run(string bootstrap, string topic, int count)
    {
        var config = new ProducerConfig { BootstrapServers = bootstrap, EnableIdempotence = true };
        string? fatal = null;
        using var producer = new ProducerBuilder<string, string>(config)
            .SetErrorHandler((_, e) =>
            {
                Console.Error.WriteLine($"error: {e.Code} {e.Reason} (fatal={e.IsFatal})");
                if (e.IsFatal)
                {
                    fatal = e.Reason;
                }
            })
            .Build();
        var delivered = 0;
        var failures = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var value = i.ToString(CultureInfo.InvariantCulture);
            producer.Produce(topic, new Message<string, string> { Key = "k" + value, Value = value }, report =>
            {
                if (report.Error.IsError)
                {
                    lock (failures)
                    {
                        failures.AppendLine($"{report.Message.Value}: {report.Error.Code} {report.Error.Reason}");
                    }
                }
                else
                {
                    Interlocked.Increment(ref delivered);
                }
            });
        }
        var left = producer.Flush(TimeSpan.FromSeconds(60));
        Console.WriteLine($"{{\"produced\": {delivered}, \"unflushed\": {left}}}");
        if (failures.Length > 0 || fatal is not null || left > 0 || delivered != count)
        {
            Console.Error.Write(failures.ToString());
            return 1;
        }
        return 0;
    }
}
