namespace Flowstore.Backend.Contract;

/// <summary>Actions started at the same instant, for facts about what happens when callers race.</summary>
public static class Race
{
    /// <summary>How many actions race.</summary>
    public const int Racers = 8;

    /// <summary>Starts <see cref="Racers"/> actions on their own threads at the same instant and awaits them all.</summary>
    public static async Task<T[]> TogetherAsync<T>(Func<int, Task<T>> action)
    {
        using var barrier = new Barrier(Racers);
        var tasks = Enumerable.Range(0, Racers).Select(i => Task.Factory.StartNew(async () =>
        {
            if (!barrier.SignalAndWait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("The racers did not all start.");
            }
            return await action(i);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToArray();
        return await Task.WhenAll(tasks);
    }
}
