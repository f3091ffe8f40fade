import { getSnapshot } from "@/lib/models";

// Reads the data dir on every request: the numbers must be current, never a build-time copy.
export const dynamic = "force-dynamic";

export default async function HomePage() {
  const { config, models } = await getSnapshot();
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">{config.session.name}</h1>
      <table className="mt-6 w-full text-left text-sm" data-testid="model-table">
        <thead className="text-muted">
          <tr>
            <th className="py-2">Model</th>
            <th>Status</th>
            <th>Progress</th>
            <th>Samples</th>
            <th>GPU hours</th>
            <th>Cost ({config.session.currency})</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.key} className="border-t border-line">
              <td className="py-2">{m.name}</td>
              <td>{m.status}</td>
              <td>{m.progress}%</td>
              <td>{m.training_samples}</td>
              <td>{m.gpu_hours}</td>
              <td>{m.total_cost.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
