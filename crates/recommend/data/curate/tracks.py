"""Selection rules that produced the embedded catalog (run from the repo root; reads the shared
reference tables, writes crates/recommend/data). Kept for transparency: the checked-in CSV is the
curated result, validated by crates/recommend/tests/shared_data.rs."""
import os
DATA = os.environ.get("MOODLENS_DATA", "../shared/data") + "/catalogs"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
import csv,collections
S=DATA+'/spotify/'
def cl(x): return max(0,min(1,x))
P={'Energetic': (0.4746, 0.9052), 'Calm': (0.2791, 0.1696), 'Happy': (0.6010, 0.8014), 'Sad': (0.3929, 0.5267)}
tr={}
def add(tid,name,artist,r,pop,genre):
    if not tid or len(tid)!=22 or 'Ã' in name or 'Ã' in artist or not name.strip() or not artist.strip(): return
    try: f={k:float(r[k]) for k in ['valence','energy','danceability','acousticness','instrumentalness','loudness','tempo']}; pop=float(pop)
    except: return
    if tid in tr and tr[tid]['pop']>=pop: return
    tr[tid]=dict(id=tid,name=name.strip(),artist=artist.strip(),pop=pop,genre=genre,**f)
for fn in ['high_popularity_spotify_data.csv','low_popularity_spotify_data.csv']:
    for r in csv.DictReader(open(S+fn,encoding='utf-8')):
        add(r['track_id'],r['track_name'],r['track_artist'],r,r['track_popularity'],r['playlist_genre'])
for r in csv.DictReader(open(S+'playlist_2010to2022.csv',encoding='utf-8')):
    add(r['track_id'],r['track_name'],r['artist_name'],r,r['track_popularity'],'pop')
print(len(tr))
def place(t):
    ar=(2*t['energy']+cl((t['loudness']+30)/30)+(1-t['acousticness'])+(1-t['instrumentalness']))/5
    va=(t['valence']+t['danceability'])/2
    return va,ar
def lab(t):
    x=place(t); return min(P,key=lambda m:(x[0]-P[m][0])**2+(x[1]-P[m][1])**2)
b=collections.defaultdict(list)
for t in tr.values(): b[lab(t)].append(t)
print({k:len(v) for k,v in b.items()})
out=[];seen_names=set()
for m,ts in b.items():
    ts.sort(key=lambda t:-t['pop']); n=0; per=collections.Counter()
    for t in ts:
        if n>=80: break
        a=t['artist'].split(',')[0]
        key=(t['name'].lower(),a.lower())
        if per[a]>=2 or key in seen_names: continue
        if m=='Calm' and t['pop']<1: pass
        per[a]+=1; seen_names.add(key); out.append(t); n+=1
print(len(out), collections.Counter(lab(t) for t in out))
cols=['artist','title','spotify_id','genre','valence','energy','danceability','acousticness','instrumentalness','loudness','tempo']
with open(OUT+'/tracks.csv','w',newline='') as fh:
    w=csv.writer(fh); w.writerow(cols)
    for t in sorted(out,key=lambda t:(t['artist'].lower(),t['name'].lower())):
        w.writerow([t['artist'],t['name'],t['id'],t['genre']]+[t[k] for k in cols[4:]])
