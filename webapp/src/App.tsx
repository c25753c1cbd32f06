import { Component, lazy, Suspense, type ReactNode } from 'react';
import { MemoryRouter, NavLink, Route, Routes } from 'react-router';
import { reportError } from './error-report';

// A widget must not touch the host page's URL or history: routes live in memory.
const Home = lazy(() => import('./pages/Home'));
const About = lazy(() => import('./pages/About'));
const Boom = lazy(() => import('./pages/Boom'));

/** The widget's CSS, adopted by its shadow root (see mount.tsx). */
export const styles = `
  .widget { font: 14px/1.4 system-ui, sans-serif; border: 1px solid #ccd; border-radius: 8px; padding: 12px; max-width: 360px; }
  nav { display: flex; gap: 8px; margin-bottom: 8px; }
  a { color: #2456c8; text-decoration: none; }
  a.active { font-weight: 600; }
  .build { color: #667; font-size: 12px; }
  .error { color: #b00020; }
`;

class ErrorBoundary extends Component<{ children: ReactNode }, { message?: string }> {
  state: { message?: string } = {};

  static getDerivedStateFromError(error: Error) {
    return { message: error.message };
  }

  componentDidCatch(error: unknown) {
    reportError(error instanceof Error ? error.message : String(error));
  }

  render() {
    return this.state.message ? (
      <p className="error" role="alert">
        Widget error: {this.state.message}
      </p>
    ) : (
      this.props.children
    );
  }
}

export function App() {
  return (
    <div className="widget" data-build-id={__BUILD_ID__}>
      <MemoryRouter>
        <nav>
          <NavLink to="/">Home</NavLink>
          <NavLink to="/about">About</NavLink>
          <NavLink to="/boom" data-testid="boom-link">
            Raise an error
          </NavLink>
        </nav>
        <ErrorBoundary>
          <Suspense fallback={<p>Loading…</p>}>
            <Routes>
              <Route path="/" element={<Home />} />
              <Route path="/about" element={<About />} />
              <Route path="/boom" element={<Boom />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </MemoryRouter>
      <p className="build">build {__BUILD_ID__}</p>
    </div>
  );
}
