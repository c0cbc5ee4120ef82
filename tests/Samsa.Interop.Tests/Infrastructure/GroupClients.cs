namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// Long-running consumer-group members of each client, speaking the JSON lines of clients/kafka_python_group_member.py,
/// and a steady kafka-python producer. Options are the scripts' key=value pairs (assignor, session_timeout_ms, ...).
/// </summary>
public static class GroupClients
{
    public static ClientProcess Confluent(string name, string bootstrap, string topic, string group, params string[] options) =>
        ClientProcess.Start(name, "dotnet", [RepoPaths.ConfluentClientDll, "group-member", bootstrap, topic, group, .. options]);

    public static ClientProcess KafkaPython(string name, string bootstrap, string topic, string group, params string[] options) =>
        ClientProcess.Start(name, Peers.Python, [RepoPaths.ClientScript("kafka_python_group_member.py"), "member", bootstrap, topic, group, .. options]);

    public static ClientProcess KafkaJs(string name, string bootstrap, string topic, string group, params string[] options) =>
        ClientProcess.Start(name, "node", [Peers.KafkaJsScript("group_member.js"), "member", bootstrap, topic, group, .. options]);

    public static ClientProcess Start(string client, string name, string bootstrap, string topic, string group, params string[] options) => client switch
    {
        "confluent" => Confluent(name, bootstrap, topic, group, options),
        "kafka-python" => KafkaPython(name, bootstrap, topic, group, options),
        "kafkajs" => KafkaJs(name, bootstrap, topic, group, options),
        _ => throw new ArgumentException($"no group member for client {client}", nameof(client)),
    };

    /// <summary>
    /// kafka-python sending "m-n" to partition n % partitions every interval (count records, or until closed when
    /// count is negative), printing each acknowledged record.
    /// </summary>
    public static ClientProcess Ticker(string bootstrap, string topic, int partitions, int intervalMs, int count = -1) =>
        ClientProcess.Start("producer", Peers.Python, [RepoPaths.ClientScript("kafka_python_group_member.py"), "ticker", bootstrap, topic, partitions.ToString(), intervalMs.ToString(), count.ToString()]);
}
